import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dockerAvailable } from '@matrixos/shared/testing';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const workflow = (name: string) => readFileSync(`${ROOT}/.github/workflows/${name}`, 'utf8');

/**
 * The release pipeline builds with the script the tests build with: images.yml runs
 * `scripts/build-image.sh --publish`, and that mode is the same build (same Dockerfile, same
 * BASE_IMAGE argument, same input label) for both architectures, pushed with every tag.
 * (actionlint checks the workflows themselves: scripts/lint-workflows.sh, run by .ci/run.)
 */
describe.skipIf(!(await dockerAvailable()))('release image build', () => {
  it('images.yml builds both architectures through build-image.sh --publish, with QEMU, buildx and the GHA cache', () => {
    const yml = workflow('images.yml');
    expect(yml).toContain('run: bash scripts/build-image.sh --publish');
    expect(yml).toContain('PUBLISH_PLATFORMS: linux/amd64,linux/arm64');
    expect(yml).toContain('PUBLISH_CACHE: type=gha');
    expect(yml).toContain('docker/setup-qemu-action@');
    expect(yml).toContain('docker/setup-buildx-action@');
    expect(yml).toContain('registry: ghcr.io');
    expect(yml).toContain('$image:latest');
    // main is published only after CI passed on that commit.
    expect(yml).toContain("github.event.workflow_run.conclusion == 'success'");
    expect(workflow('ci.yml')).toContain('run: bash .ci/run');
  });

  it('--publish runs one buildx build for every platform and tag, on BASE_IMAGE, pushed and cached', () => {
    const out = execFileSync('bash', ['scripts/build-image.sh', '--publish'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        PUBLISH_DRY_RUN: '1',
        PUBLISH_TAGS: 'ghcr.io/acme/matrixos/instance:abc123 ghcr.io/acme/matrixos/instance:latest',
        PUBLISH_PLATFORMS: 'linux/amd64,linux/arm64',
        PUBLISH_CACHE: 'type=gha,scope=instance',
        BASE_IMAGE: 'node:24-slim',
      },
    });
    const command = out.split('\n').find((l) => l.startsWith('docker buildx build')) ?? '';
    expect(command).toContain('--platform linux/amd64,linux/arm64');
    expect(command).toContain('--build-arg BASE_IMAGE=node:24-slim');
    expect(command).toMatch(/--label dev\.matrixos\.inputs=[0-9a-f]{32}/);
    expect(command).toContain(
      '--tag ghcr.io/acme/matrixos/instance:abc123 --tag ghcr.io/acme/matrixos/instance:latest',
    );
    expect(command).toContain(
      '--cache-from type=gha,scope=instance --cache-to type=gha,scope=instance,mode=max',
    );
    expect(command).toMatch(/--push \.$/);
  });

  it('--publish without tags refuses before building anything', () => {
    expect(() =>
      execFileSync('bash', ['scripts/build-image.sh', '--publish'], {
        cwd: ROOT,
        stdio: 'pipe',
        env: { ...process.env, PUBLISH_DRY_RUN: '1', PUBLISH_TAGS: '' },
      }),
    ).toThrow(/--publish needs PUBLISH_TAGS/);
  });
});
