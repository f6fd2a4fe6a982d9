// The RedisServer moved to clients/fault (the fault harness's CLI owns one too); tests keep importing it from here.
export { RedisServer, type RedisServerOptions, stopChild, waitForPort } from '../../clients/fault/redis-server';
