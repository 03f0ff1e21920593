import { OpenAPIHono } from '@hono/zod-openapi';
import { instancePassCookie } from '@matrixos/shared';
import { Hono } from 'hono';
import { VERSION } from '../version.ts';
import { registerGateway } from './routes.ts';

const DESCRIPTION = `One user's Matrix OS instance: their home over HTTP, the inbox, apps, AI settings, and a
WebSocket of events. Everything but \`/health\`, the page and signing in needs the owner: the
instance token as a bearer, the platform's instance pass (platform mode), or the session cookie.
Errors are \`{"error": {"code", "message", ...}}\`.`;

/** The gateway's OpenAPI 3.1 document, from the contract's zod schemas. */
export function gatewayOpenApi() {
  const app = new OpenAPIHono();
  app.openAPIRegistry.registerComponent('securitySchemes', 'instanceToken', {
    type: 'http',
    scheme: 'bearer',
    description: '`MATRIX_AUTH_TOKEN` (printed at first start in single-user mode)',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'session', {
    type: 'apiKey',
    in: 'cookie',
    name: 'mx_session',
    description: 'a browser session (`__Host-mx_session` under TLS); writes must carry `Origin`',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'pass', {
    type: 'apiKey',
    in: 'cookie',
    name: instancePassCookie(false),
    description: `platform mode: the instance pass the platform sets (\`${instancePassCookie(true)}\` under TLS); writes must carry \`Origin\``,
  });
  registerGateway(app.openAPIRegistry);
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title: 'Matrix OS instance (gateway)', version: VERSION, description: DESCRIPTION },
  });
}

/** `GET /openapi.json` (public): the document, generated once. */
export function openApiRoute(): Hono {
  const document = gatewayOpenApi();
  return new Hono().get('/openapi.json', (c) => c.json(document));
}
