/**
 * The container files (README, "Operate it"): the Dockerfile parsed into its instructions by
 * dockerfile-ast (the parser dockerfile-utils lints with in .ci/run), docker-compose.yml parsed as
 * YAML. No Docker daemon is needed.
 */
import dockerfileAst from 'dockerfile-ast';
import type { Instruction } from 'dockerfile-ast';
import dockerfileUtils from 'dockerfile-utils';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

// ---------- Dockerfile ----------

interface Stage {
  name: string | null;
  image: string;
  instructions: Instruction[];
}

const dockerfileText = read('Dockerfile');
const dockerfile = dockerfileAst.DockerfileParser.parse(dockerfileText);

/** The instructions grouped by stage: each FROM opens one. */
function stages(): Stage[] {
  const result: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction instanceof dockerfileAst.From) {
      result.push({ name: instruction.getBuildStage(), image: instruction.getImage() ?? '', instructions: [] });
    } else {
      if (!result.length) throw new Error(`${instruction.getKeyword()} before the first FROM`);
      result.at(-1)!.instructions.push(instruction);
    }
  }
  return result;
}

const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
/** A RUN's shell commands, split at && and ; so each npm call can be looked at on its own. */
const commands = (stage: Stage) =>
  of(stage, 'RUN').flatMap((run) =>
    (run.getArgumentsContent() ?? '')
      .replace(/\\\n/g, ' ')
      .split(/&&|;/)
      .map((command) => command.trim().split(/\s+/)),
  );
const isNpmCi = (words: string[]) => words[0] === 'npm' && words[1] === 'ci';
const omitsDev = (words: string[]) => words.includes('--omit=dev') || words.includes('--production');
/** The JSON (exec) form's strings of CMD. */
const jsonStrings = (instruction: Instruction) => (instruction as unknown as InstanceType<typeof dockerfileAst.JSONInstruction>).getJSONStrings().map((s) => s.getJSONValue());
/** Every ENV in a stage, `ENV A=1 B=2` and `ENV A 1` alike. */
const envOf = (stage: Stage) =>
  new Map(
    of(stage, 'ENV').flatMap((env) =>
      (env as InstanceType<typeof dockerfileAst.Env>).getProperties().map((p) => [p.getName(), p.getValue() ?? ''] as [string, string]),
    ),
  );

describe('Dockerfile', () => {
  const all = stages();
  const final = all.at(-1)!;
  const stageNames = new Set(all.map((s) => s.name).filter(Boolean));

  test('lints without errors (dockerfile-utils, as .ci/run)', () => {
    const errors = dockerfileUtils.validate(dockerfileText).filter((d) => d.severity === 1);
    expect(errors.map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  test('is multi-stage, every base image a pinned node bookworm-slim that satisfies package.json engines', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    const [, minMajor, minMinor] = /^>=(\d+)\.(\d+)/.exec(engines)!.map(Number);
    for (const stage of all) {
      if (stageNames.has(stage.image)) continue;
      const match = /^node:(\d+)\.(\d+)\.(\d+)-bookworm-slim(@sha256:[0-9a-f]{64})?$/.exec(stage.image);
      expect({ image: stage.image, pinned: Boolean(match) }).toEqual({ image: stage.image, pinned: true });
      const [major, minor] = [Number(match![1]), Number(match![2])];
      expect(major > minMajor || (major === minMajor && minor >= minMinor)).toBe(true);
    }
    // One Node version for every stage: the build's native packages are the ones the final stage runs.
    expect(new Set(all.filter((s) => !stageNames.has(s.image)).map((s) => s.image)).size).toBe(1);
  });

  test('a build stage installs the lock file with dev dependencies and runs npm run build', () => {
    const build = all.slice(0, -1).find((stage) => commands(stage).some((words) => words.join(' ') === 'npm run build'));
    expect(build).toBeDefined();
    expect(commands(build!).some((words) => isNpmCi(words) && !omitsDev(words))).toBe(true);
    expect(commands(build!).some((words) => words[0] === 'npm' && ['install', 'i'].includes(words[1]))).toBe(false);
  });

  test('the final stage has production dependencies only and no build tools', () => {
    const finalCommands = commands(final);
    // Either `npm ci --omit=dev` here, or node_modules copied from a stage that ran it.
    const fromStages = of(final, 'COPY').flatMap((copy) => {
      const flag = (copy as InstanceType<typeof dockerfileAst.Copy>).getFromFlag();
      const source = copy.getArguments()[0]?.getValue() ?? '';
      return flag && /node_modules\/?$/.test(source) ? [flag.getValue()] : [];
    });
    const installsHere = finalCommands.filter(isNpmCi);
    expect(installsHere.every(omitsDev)).toBe(true);
    expect(installsHere.length + fromStages.length).toBeGreaterThan(0);
    for (const name of fromStages) {
      const source = all.find((stage) => stage.name === name)!;
      const installs = commands(source).filter(isNpmCi);
      expect(installs.length).toBeGreaterThan(0);
      expect(installs.every(omitsDev)).toBe(true);
      expect(commands(source).some((words) => words.join(' ').startsWith('npm run build'))).toBe(false);
    }
    const buildTools = ['build-essential', 'gcc', 'g++', 'make', 'python3', 'curl', 'wget'];
    expect(finalCommands.filter((words) => ['apt-get', 'apt', 'apk'].includes(words[0]) && words.some((w) => buildTools.includes(w)))).toEqual([]);
    expect(finalCommands.some((words) => words[0] === 'npm' && ['install', 'i'].includes(words[1]))).toBe(false);
  });

  test('the final stage runs as a non-root user with NODE_ENV=production', () => {
    const users = of(final, 'USER').map((u) => u.getArguments()[0]?.getValue() ?? '');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.split(':')[0];
    expect(['', 'root', '0']).not.toContain(user);
    // USER comes before CMD, so the service itself runs as that user.
    const lastUser = of(final, 'USER').at(-1)!;
    for (const cmd of of(final, 'CMD')) expect(lastUser.getRange().start.line).toBeLessThan(cmd.getRange().start.line);
    expect(envOf(final).get('NODE_ENV')).toBe('production');
  });

  test('HEALTHCHECK asks /readyz with node itself and CMD starts the service without npm', () => {
    const healthchecks = of(final, 'HEALTHCHECK') as InstanceType<typeof dockerfileAst.Healthcheck>[];
    expect(healthchecks).toHaveLength(1);
    expect(healthchecks[0].getSubcommand()?.getValue()).toBe('CMD');
    // HEALTHCHECK [flags] CMD ["exec", "form"]: the JSON array after the subcommand, parsed as JSON.
    const afterCmd = /\bCMD\s+(\[[\s\S]*\])\s*$/.exec(healthchecks[0].getArgumentsContent() ?? '');
    expect(afterCmd).not.toBeNull();
    const check = JSON.parse(afterCmd![1]) as string[];
    expect(check[0]).toBe('node');
    expect(check.join(' ')).toMatch(/\/readyz\b/);
    const cmds = of(final, 'CMD');
    expect(cmds).toHaveLength(1);
    expect(jsonStrings(cmds[0])).toEqual(['node', 'dist/src/main.js']);
  });

  test('.dockerignore keeps the host build, dependencies, data and git out of the context', () => {
    const ignored = new Set(read('.dockerignore').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#')));
    for (const entry of ['node_modules', 'dist', '.data', '.git']) expect(ignored).toContain(entry);
  });
});

// ---------- docker-compose.yml ----------

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  volumes?: string[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = Object.entries(compose.services);

/** An exact release: x.y.z (postgres numbers its releases major.minor), optionally a variant suffix or a digest. */
function pinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const at = image.lastIndexOf(':');
  if (at <= image.lastIndexOf('/')) return false;
  const [name, tag] = [image.slice(0, at), image.slice(at + 1)];
  if (/^v?\d+\.\d+\.\d+(-[a-z0-9.]+)*$/.test(tag)) return true;
  return name === 'postgres' && /^\d{2,}\.\d+(-[a-z0-9.]+)*$/.test(tag);
}

describe('docker-compose.yml', () => {
  test('pins every pulled image to an exact version', () => {
    expect(pinned('postgres:16')).toBe(false);
    expect(pinned('hashicorp/vault:1.17')).toBe(false);
    expect(pinned('node:20')).toBe(false);
    for (const [name, service] of services) {
      if (service.build) continue;
      expect({ name, image: service.image, pinned: pinned(service.image ?? '') }).toEqual({ name, image: service.image, pinned: true });
    }
  });

  test('builds the connector subgraph from this Dockerfile, without the host checkout or an install at start', () => {
    const subgraph = compose.services['connector-subgraph'];
    const build = typeof subgraph.build === 'string' ? { context: subgraph.build } : subgraph.build;
    expect(build?.context).toBe('.');
    expect(build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    for (const [name, service] of services) {
      const command = ([] as string[]).concat(service.command ?? []).join(' ');
      expect({ name, installs: /\bnpm (install|i|ci)\b/.test(command) }).toEqual({ name, installs: false });
      const mountsCheckout = (service.volumes ?? []).some((volume) => ['.', './'].includes(volume.split(':')[0]));
      expect({ name, mountsCheckout }).toEqual({ name, mountsCheckout: false });
    }
  });

  test('mounts only files that exist in the repository', () => {
    for (const [, service] of services) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (source.startsWith('./')) expect(existsSync(join(ROOT, source))).toBe(true);
      }
    }
  });

  test('every service has a healthcheck', () => {
    for (const [name, service] of services) {
      const test = ([] as string[]).concat(service.healthcheck?.test ?? []);
      expect({ name, disabled: service.healthcheck?.disable ?? false, test: test.length > 1 && test[0] !== 'NONE' }).toEqual({ name, disabled: false, test: true });
    }
  });

  test('every depends_on waits for a healthy service that exists', () => {
    let edges = 0;
    for (const [name, service] of services) {
      const dependsOn = service.depends_on ?? {};
      expect({ name, longSyntax: !Array.isArray(dependsOn) }).toEqual({ name, longSyntax: true });
      for (const [dependency, options] of Object.entries(dependsOn as Record<string, { condition?: string }>)) {
        edges++;
        expect(compose.services[dependency]).toBeDefined();
        expect({ name, dependency, condition: options?.condition }).toEqual({ name, dependency, condition: 'service_healthy' });
      }
    }
    expect(edges).toBeGreaterThan(0);
  });

  test('runs the stack the docs describe: PostgreSQL, Vault, NATS, both subgraphs and the router', () => {
    expect(Object.keys(compose.services).sort()).toEqual(expect.arrayContaining(['connector-subgraph', 'investigations', 'nats', 'postgres', 'router', 'vault']));
  });
});
