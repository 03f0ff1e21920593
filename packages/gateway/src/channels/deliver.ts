import { HttpError } from '@matrixos/shared';
import type { EventBus } from '../events/bus.ts';
import type { Kernel } from '../kernel/kernel.ts';
import type { ImageInput } from '../kernel/readImage.ts';

export interface Delivered {
  conversationId: string;
  /** The AI's answer (its text, or what went wrong, in words for the owner). */
  text: string;
  ok: boolean;
}

/**
 * Hands one message of the owner to the kernel, into `conversationId` (a new conversation
 * without one, or when that one is gone), and waits for the whole answer on the bus. The turn
 * shows in the shell like any other, so the owner can continue it there.
 */
export async function deliver(
  deps: { kernel: Kernel; bus: EventBus },
  input: { text: string; images?: ImageInput[]; conversationId?: string | undefined },
): Promise<Delivered> {
  let text = '';
  let error: string | null = null;
  let turnId: string | null = null;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  // Subscribed before sending: the turn may publish its first events before send() resolves.
  const buffered: Parameters<Parameters<EventBus['subscribe']>[0]>[0][] = [];
  const take = (event: (typeof buffered)[number]) => {
    if (!('turnId' in event) || event.turnId !== turnId) return;
    if (event.type === 'chat.delta') text += event.text;
    else if (event.type === 'chat.error') error = event.message;
    else if (event.type === 'chat.done') finish();
  };
  const unsubscribe = deps.bus.subscribe((event) => {
    if (turnId === null) buffered.push(event);
    else take(event);
  });
  try {
    let started: { conversationId: string; turnId: string };
    try {
      started = await deps.kernel.send({
        text: input.text,
        images: input.images,
        conversationId: input.conversationId,
      });
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 404 && input.conversationId)) throw err;
      started = await deps.kernel.send({ text: input.text, images: input.images });
    }
    turnId = started.turnId;
    for (const event of buffered.splice(0)) take(event);
    await done;
    const answer = text.trim();
    if (error !== null) {
      return {
        conversationId: started.conversationId,
        text: answer ? `${answer}\n\n${error}` : error,
        ok: false,
      };
    }
    return { conversationId: started.conversationId, text: answer || '(no answer)', ok: true };
  } finally {
    unsubscribe();
  }
}
