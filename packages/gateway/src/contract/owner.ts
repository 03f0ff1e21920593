import { failure, type Method, type Responses, type Security } from '@matrixos/shared';

/** The owner's routes take any one of the document's ways in (contract/openapi.ts). */
export const owner: Security = [{ instanceToken: [] }, { session: [] }, { pass: [] }];

/** What an owner's route answers anyone else, by method (only a page load is redirected). */
export function denied(method: Method): Responses {
  return {
    ...(method === 'get' || method === 'head'
      ? {
          302: {
            description:
              'platform mode, a browser loading a page without a valid pass: through the platform for a new one (`/.well-known/matrixos/refresh?next=`)',
          },
        }
      : {}),
    401: failure(
      'neither the instance token, a pass nor a session (`unauthorized`; `pass_expired` when the pass ran out), with `WWW-Authenticate`',
    ),
    403: failure(
      'a change from another origin (`cross_origin`), or a pass or session write without `Origin` (`origin_required`)',
    ),
  };
}
