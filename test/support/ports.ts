export { freePort } from '../../clients/cluster/free-port';
