/** Files of installed packages (browser builds for GraphiQL and the console), read from node_modules: the machines that run this are offline. */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** A package's folder: up from its entry point to its package.json (some, such as htm, hide package.json behind `exports`). */
function packageRoot(pkg: string): string {
  let dir = dirname(require.resolve(pkg));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === pkg) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`the service needs the ${pkg} package (a runtime dependency)`);
    dir = up;
  }
}

/** A package's own file by path: the browser builds served here are not in the packages' `exports`. */
export function packageFile(pkg: string, file: string): Buffer {
  return readFileSync(join(packageRoot(pkg), file));
}
