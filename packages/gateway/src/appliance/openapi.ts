import { badBody, failure, json, jsonBody, type Responses, type Security } from '@matrixos/shared';
import { z } from 'zod';
import {
  applianceReply,
  factoryResetReply,
  factoryResetRequest,
  networkReply,
  setupDoneReply,
  wifiConnectRequest,
  wifiListReply,
} from './contract.ts';

type Route = (
  method: 'get' | 'post' | 'put' | 'delete',
  path: string,
  tag: string,
  summary: string,
  responses: Responses,
  request?: Record<string, unknown>,
  security?: Security | null,
) => unknown;

const limited = { 429: failure('too many requests (`rate_limited`)') };

/** The appliance's routes (`appliance/routes.ts`; served only when APPLIANCE_STATE_DIR is set). */
export function registerAppliance(route: Route): void {
  route(
    'get',
    '/appliance/kiosk',
    'appliance',
    "the kiosk's one-time sign-in (from this machine only): sets a session cookie, then to the setup or the desktop",
    {
      302: { description: 'signed in: to `/appliance/setup` until the setup is done, then to `/`' },
      400: failure('no ticket (`invalid_query`)'),
      403: failure('not from loopback (`not_local`), or not the current ticket (`invalid_ticket`)'),
      ...limited,
    },
    { query: z.object({ ticket: z.string().max(200) }) },
    null,
  );
  route(
    'get',
    '/appliance/setup',
    'appliance',
    'the first-boot setup page (network, AI key, then the desktop)',
    {
      200: { description: 'the page', content: { 'text/html': { schema: z.string() } } },
    },
  );
  route(
    'get',
    '/api/appliance',
    'appliance',
    'version, setup state, update status, network, what the kiosk was shown',
    {
      200: json('the appliance', applianceReply),
    },
  );
  route('get', '/api/appliance/wifi', 'appliance', 'Wi-Fi networks in reach (iwd)', {
    200: json('networks', wifiListReply),
    ...limited,
  });
  route(
    'post',
    '/api/appliance/wifi',
    'appliance',
    'join a Wi-Fi network',
    {
      200: json('the network now', networkReply),
      ...badBody,
      409: failure('no Wi-Fi device (`no_wifi`)'),
      502: failure('iwd could not join (`wifi_failed`)'),
      ...limited,
    },
    { body: jsonBody(wifiConnectRequest) },
  );
  route(
    'post',
    '/api/appliance/setup',
    'appliance',
    'the first-boot setup is done (the kiosk goes to the desktop)',
    {
      200: json('done', setupDoneReply),
      ...limited,
    },
  );
  route(
    'post',
    '/api/appliance/factory-reset',
    'appliance',
    'ask root for a factory reset: the setup again, and with `wipe` the home and settings deleted',
    { 202: json('requested', factoryResetReply), ...badBody, ...limited },
    { body: jsonBody(factoryResetRequest) },
  );
}
