import { answerPeer, type PeerAnswer, type PeerMessage, type PeerSandboxDeps } from './answerPeer.ts';

export interface PeerSandbox {
  /** answerPeer, one message at a time per peer (so the conversation stays in order). */
  answer(input: PeerMessage): Promise<PeerAnswer>;
}

/** The sandboxed answering the transports share (the platform's delivery, the Matrix channel). */
export function createPeerSandbox(deps: PeerSandboxDeps): PeerSandbox {
  const queues = new Map<string, Promise<unknown>>();
  return {
    answer(input) {
      const previous = queues.get(input.peer) ?? Promise.resolve();
      const done = previous.then(() => answerPeer(deps, input));
      const settled = done.catch(() => undefined);
      queues.set(input.peer, settled);
      // Forget a peer once its queue drained, so the map does not grow with every sender.
      void settled.then(() => {
        if (queues.get(input.peer) === settled) queues.delete(input.peer);
      });
      return done;
    },
  };
}
