/** The Anthropic API stand-in, for this package's tests and any other package's (`@matrixos/proxy/testing`). */

export {
  type ContentSpec,
  type ErrorScript,
  type MessageScript,
  overloaded,
  type RawScript,
  rateLimited,
  reply,
  type Script,
  type ScriptUsage,
  toolCall,
} from './script.ts';
export {
  type ReceivedRequest,
  STAND_IN_MODELS,
  type StandInOptions,
  startUpstreamStandIn,
  type UpstreamStandIn,
} from './standIn.ts';
