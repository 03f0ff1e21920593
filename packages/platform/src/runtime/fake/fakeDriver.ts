import type {
  Endpoint,
  InstanceSpec,
  InstanceStats,
  RuntimeDriver,
  RuntimeEvent,
  RuntimeInstance,
  RuntimeState,
} from '../driver.ts';
import { RuntimeError } from '../driver.ts';
import { assertSafeSpec, assertSafeVolume } from '../validate.ts';

/** Every step a test can make fail, `waitReady` (the orchestrator's dependency) included. */
export type FakeStep =
  | 'init'
  | 'ensureVolume'
  | 'hasVolume'
  | 'removeVolume'
  | 'listVolumes'
  | 'create'
  | 'start'
  | 'stop'
  | 'pause'
  | 'resume'
  | 'remove'
  | 'inspect'
  | 'list'
  | 'stats'
  | 'logs'
  | 'waitReady';

interface FakeInstance {
  id: string;
  spec: InstanceSpec;
  state: RuntimeState;
}

export type FakeDriver = RuntimeDriver & ReturnType<typeof fakeControls>;

/**
 * An engine in memory, for the orchestrator's own logic: every step can be made to fail (once or
 * always), and what is left behind is plain to see (`instances`, `volumes`). Like a real driver
 * it sees only its own objects and tells watchers what happens.
 */
export function createFakeDriver(): FakeDriver {
  const instances = new Map<string, FakeInstance>();
  const volumes = new Map<string, Map<string, string>>();
  const watchers = new Set<(e: RuntimeEvent) => void>();
  const failures = new Map<FakeStep, { error: Error; times: number }>();
  const calls: { step: FakeStep; arg?: string }[] = [];
  let seq = 0;

  async function step(name: FakeStep, arg?: string): Promise<void> {
    calls.push({ step: name, arg });
    // A real engine answers later, never in the same tick.
    await Promise.resolve();
    const f = failures.get(name);
    if (!f) return;
    if (--f.times <= 0) failures.delete(name);
    throw f.error;
  }

  const endpointOf = (i: FakeInstance): Endpoint | null =>
    i.state === 'stopped' ? null : { host: '127.0.0.1', port: 40_000 + Number(i.id.slice(4)) };
  const view = (i: FakeInstance): RuntimeInstance => ({
    id: i.id,
    handle: i.spec.handle,
    state: i.state,
    endpoint: endpointOf(i),
  });
  const emit = (i: FakeInstance, state: RuntimeEvent['state']) => {
    for (const w of watchers) w({ id: i.id, handle: i.spec.handle, state });
  };
  function own(id: string): FakeInstance {
    const i = instances.get(id);
    if (!i) throw new RuntimeError('not_found', `no instance ${id}`);
    return i;
  }
  function set(i: FakeInstance, state: RuntimeState): void {
    if (i.state === state) return;
    i.state = state;
    emit(i, state);
  }

  const driver: RuntimeDriver = {
    kind: 'docker',
    isolated: true,
    init: () => step('init'),
    hostAddress: () => '127.0.0.1',
    hostName: () => '127.0.0.1',
    async ensureVolume(volume) {
      assertSafeVolume(volume);
      await step('ensureVolume', volume);
      if (volumes.has(volume)) return { created: false };
      volumes.set(volume, new Map());
      return { created: true };
    },
    async hasVolume(volume) {
      await step('hasVolume', volume);
      return volumes.has(volume);
    },
    async removeVolume(volume) {
      await step('removeVolume', volume);
      if ([...instances.values()].some((i) => i.spec.volume === volume))
        throw new RuntimeError('conflict', `volume ${volume} is in use`);
      volumes.delete(volume);
    },
    async listVolumes() {
      await step('listVolumes');
      return [...volumes.keys()];
    },
    async create(spec) {
      assertSafeSpec(spec.handle, spec.env);
      await step('create', spec.handle);
      if ([...instances.values()].some((i) => i.spec.handle === spec.handle))
        throw new RuntimeError('conflict', `${spec.handle} already has an instance`);
      if (!volumes.has(spec.volume)) volumes.set(spec.volume, new Map());
      const i: FakeInstance = { id: `fake${++seq}`, spec: structuredClone(spec), state: 'stopped' };
      instances.set(i.id, i);
      return view(i);
    },
    async start(id) {
      await step('start', id);
      const i = own(id);
      set(i, 'running');
      return view(i);
    },
    async stop(id) {
      await step('stop', id);
      const i = instances.get(id);
      if (i) set(i, 'stopped');
    },
    async pause(id) {
      await step('pause', id);
      const i = own(id);
      if (i.state !== 'running') throw new RuntimeError('conflict', `${id} is not running`);
      set(i, 'paused');
    },
    async resume(id) {
      await step('resume', id);
      const i = own(id);
      if (i.state === 'stopped') throw new RuntimeError('conflict', `${id} is stopped`);
      set(i, 'running');
      return view(i);
    },
    async remove(id) {
      await step('remove', id);
      const i = instances.get(id);
      if (!i) return;
      instances.delete(id);
      emit(i, 'removed');
    },
    async inspect(id) {
      await step('inspect', id);
      const i = instances.get(id);
      return i ? view(i) : null;
    },
    async list(filter = {}) {
      await step('list', filter.handle);
      return [...instances.values()]
        .filter((i) => filter.handle === undefined || i.spec.handle === filter.handle)
        .map(view);
    },
    async stats(id): Promise<InstanceStats | null> {
      await step('stats', id);
      const i = instances.get(id);
      return i && i.state !== 'stopped'
        ? { memoryBytes: 1, memoryLimitBytes: i.spec.limits.memoryBytes, cpuPercent: 0 }
        : null;
    },
    async logs(id) {
      await step('logs', id);
      own(id);
      return '';
    },
    watch(onEvent) {
      watchers.add(onEvent);
      return () => watchers.delete(onEvent);
    },
  };
  return Object.assign(driver, fakeControls({ instances, volumes, failures, calls, step, set, emit }));
}

function fakeControls(s: {
  instances: Map<string, FakeInstance>;
  volumes: Map<string, Map<string, string>>;
  failures: Map<FakeStep, { error: Error; times: number }>;
  calls: { step: FakeStep; arg?: string }[];
  step: (name: FakeStep, arg?: string) => Promise<void>;
  set: (i: FakeInstance, state: RuntimeState) => void;
  emit: (i: FakeInstance, state: RuntimeEvent['state']) => void;
}) {
  return {
    /** The next `times` calls of `step` throw `error` (a RuntimeError 'unavailable' by default). */
    failOn(step: FakeStep, error?: Error, times = 1): void {
      s.failures.set(step, {
        error: error ?? new RuntimeError('unavailable', `injected failure at ${step}`),
        times,
      });
    },
    clearFailures(): void {
      s.failures.clear();
    },
    calls: s.calls,
    /** What the engine holds now: instances by handle (spec and state), and volume keys. */
    snapshot() {
      return {
        instances: [...s.instances.values()].map((i) => ({
          id: i.id,
          handle: i.spec.handle,
          volume: i.spec.volume,
          state: i.state,
          env: i.spec.env,
        })),
        volumes: [...s.volumes.keys()].sort(),
      };
    },
    /** Files of a volume, as a tenant would have written them. */
    files: (volume: string) => s.volumes.get(volume),
    /** What someone else does with the engine, behind the platform's back. */
    behindTheBack: {
      stop(id: string): void {
        const i = s.instances.get(id);
        if (i) s.set(i, 'stopped');
      },
      remove(id: string): void {
        const i = s.instances.get(id);
        if (!i) return;
        s.instances.delete(id);
        s.emit(i, 'removed');
      },
    },
    /** The orchestrator's `waitReady`, failing when `failOn('waitReady')` says so. */
    waitReady: async (endpoint: Endpoint): Promise<void> => {
      await s.step('waitReady', `${endpoint.host}:${endpoint.port}`);
    },
  };
}
