/** What a channel says about itself in `/api/system/info` and the settings. */
export interface ChannelStatus {
  name: string;
  /** `off`: not set up; `starting`; `running`: receiving; `error`: set up but not working (see detail). */
  state: 'off' | 'starting' | 'running' | 'error';
  /** How updates arrive, once running. */
  via?: 'polling' | 'webhook';
  /** Whether the owner's own account on that network is linked (only it reaches the AI). */
  linked: boolean;
  detail?: string;
}

/**
 * A way for the owner to talk to their AI from outside the shell (Telegram now; Matrix DMs
 * later). A channel receives messages on its network, hands the owner's to the kernel with
 * `deliver` (channels/deliver.ts), and sends the answer back with `reply`.
 */
export interface Channel {
  readonly name: string;
  /** Starts receiving (a no-op when the channel is not set up). Never throws: failures show in status. */
  start(): Promise<void>;
  /** Stops receiving; in-flight replies finish or are dropped. */
  stop(): Promise<void>;
  /** Sends text (Markdown) to a chat on the channel's network. */
  reply(chatId: string, markdown: string): Promise<void>;
  status(): ChannelStatus;
}

/** The instance's channels, started with the gateway and listed by `/api/system/info`. */
export interface Channels {
  list(): ChannelStatus[];
  startAll(): Promise<void>;
  stopAll(): Promise<void>;
}

export function createChannels(channels: Channel[]): Channels {
  return {
    list: () => channels.map((c) => c.status()),
    async startAll() {
      await Promise.all(channels.map((c) => c.start()));
    },
    async stopAll() {
      await Promise.all(channels.map((c) => c.stop()));
    },
  };
}
