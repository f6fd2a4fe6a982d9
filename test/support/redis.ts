// One redis-server launcher for the whole repo (clients/cluster/redis-server.ts); tests import it from here.
export { RedisServer, type RedisServerOptions } from '../../clients/cluster/redis-server';
export { waitForPort } from '../../clients/cluster/free-port';
export { stopChild } from '../../clients/cluster/spawn-service';
