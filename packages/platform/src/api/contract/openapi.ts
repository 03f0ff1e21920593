import { OpenAPIHono } from '@hono/zod-openapi';
import { Hono } from 'hono';
import { cookieNames } from '../../accounts/cookieNames.ts';
import { VERSION } from '../../version.ts';
import { registerAdmin } from './admin.ts';
import { registerAuth } from './auth.ts';
import { registerBilling } from './billing.ts';
import { registerInstanceApi } from './instanceApi.ts';
import { registerInstances } from './instances.ts';
import { registerMe } from './me.ts';
import { registerOidc } from './oidc.ts';
import { registerOperations } from './operations.ts';
import { registerPublic } from './public.ts';
import { registerSocial } from './social.ts';

const DESCRIPTION = `The Matrix OS control plane: accounts, instances, the admin API.

JSON in and out; every error is \`{"error": {"code", "message", ...}}\` with a 4xx for anything the
caller can fix. Requests whose \`Host\` is \`{handle}.{domain}\` are not answered here but routed to that
instance (as is \`/proxy/{handle}/...\`): its gateway describes its own API at its \`/openapi.json\`.`;

const CONFIG = {
  openapi: '3.1.0',
  info: { title: 'Matrix OS platform', version: VERSION, description: DESCRIPTION },
};

/** An app holding the platform's description (from the contract's zod schemas); serves nothing. */
function described(): OpenAPIHono {
  const app = new OpenAPIHono();
  const registry = app.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: '`PLATFORM_ADMIN_TOKEN`',
  });
  registry.registerComponent('securitySchemes', 'session', {
    type: 'apiKey',
    in: 'cookie',
    name: cookieNames(false).access,
    description: 'the sign-in session (`__Host-mx_access` under TLS); writes must carry `Origin`',
  });
  registry.registerComponent('securitySchemes', 'instanceToken', {
    type: 'http',
    scheme: 'bearer',
    description: "an instance's API token (from its provision)",
  });
  registerPublic(registry);
  registerAuth(registry);
  registerMe(registry);
  registerAdmin(registry);
  registerInstances(registry);
  registerOidc(registry);
  registerOperations(registry);
  registerBilling(registry);
  registerSocial(registry);
  registerInstanceApi(registry);
  return app;
}

/** The platform's OpenAPI 3.1 document. */
export function platformOpenApi() {
  return described().getOpenAPI31Document(CONFIG);
}

/** `GET /openapi.json` (public): the document, generated once. */
export function openApiRoute(): Hono {
  const document = platformOpenApi();
  return new Hono().get('/openapi.json', (c) => c.json(document));
}
