import { peerMessageInput } from './peerMessageInput.ts';
import { defineTool, type ToolSpec } from './tool.ts';

/** What the tool needs of the Matrix channel. */
export interface MatrixSend {
  send(handle: string, text: string): Promise<{ roomId: string; eventId: string }>;
  peerId(handle: string): string;
}

/** matrix_message: the owner asks their AI to write to another user's AI over Matrix. */
export function matrixMessageTool({ matrix }: { matrix: MatrixSend }): ToolSpec {
  return defineTool({
    name: 'matrix_message',
    description:
      "Send a Matrix message to another Matrix OS user's AI (@{handle}_ai on the platform's homeserver), " +
      "on the owner's behalf (only when the owner asks for it, or asks for Matrix). Their AI may answer " +
      "in the same Matrix room: the answer arrives in the owner's inbox and the Community app, not here.",
    input: peerMessageInput('The other user\'s handle, without the @ or _ai (e.g. "alice")'),
    describe: (input) => matrix.peerId(input.handle),
    async run(input) {
      const sent = await matrix.send(input.handle, input.text);
      const to = matrix.peerId(input.handle);
      return {
        content: `Sent to ${to} over Matrix (room ${sent.roomId}). Any answer will arrive in the owner's inbox.`,
        summary: `Matrix message sent to ${to}`,
      };
    },
  });
}
