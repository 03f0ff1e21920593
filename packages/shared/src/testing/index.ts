export { dockerAvailable, TEST_INSTANCE_IMAGE } from './docker.ts';
export { toolAvailable } from './tools.ts';
