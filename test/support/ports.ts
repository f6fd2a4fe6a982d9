export { freePort } from '../../services/common/free-port';
