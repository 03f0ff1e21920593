import type { Social } from '../social/social.ts';
import { peerMessageInput } from './peerMessageInput.ts';
import { defineTool, type ToolSpec } from './tool.ts';

/** message_ai: the owner asks their AI to write to another user's AI (through the platform). */
export function messageAiTool({ social }: { social: Social }): ToolSpec {
  return defineTool({
    name: 'message_ai',
    description:
      "Send a message to another Matrix OS user's AI, on the owner's behalf (only when the owner asks " +
      'for it). It goes through the platform, which tells the recipient it came from this instance. ' +
      "Their AI may answer: the answer arrives in the owner's inbox and the Community app, not here.",
    input: peerMessageInput('The other user\'s handle, without the @ (e.g. "alice")'),
    describe: (input) => `@${input.handle}'s AI`,
    async run(input) {
      const sent = await social.send(input.handle, input.text);
      return {
        content: `Delivered to @${sent.to}'s AI at ${sent.deliveredAt}. Any answer will arrive in the owner's inbox.`,
        summary: `Message delivered to @${sent.to}'s AI`,
      };
    },
  });
}
