// Builds the native addon with cargo (sharing the workspace's target dir and triple), copies
// it next to the package as native/modelplug.<platform>-<arch>.node, and compiles lib/ → dist/.
// Usage: node scripts/build.mjs [--release]
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repo = resolve(pkg, '..');
const release = process.argv.includes('--release');
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: 'inherit' });

run('cargo', ['build', '-p', 'modelplug-node', ...(release ? ['--release'] : [])], repo);

const targetDir = process.env.CARGO_TARGET_DIR ? resolve(repo, process.env.CARGO_TARGET_DIR) : join(repo, 'target');
const triple = process.env.CARGO_BUILD_TARGET;
const profileDir = join(targetDir, ...(triple ? [triple] : []), release ? 'release' : 'debug');
const library = { linux: 'libmodelplug_node.so', darwin: 'libmodelplug_node.dylib', win32: 'modelplug_node.dll' }[process.platform];
if (!library) throw new Error(`unsupported platform ${process.platform}`);
mkdirSync(join(pkg, 'native'), { recursive: true });
copyFileSync(join(profileDir, library), join(pkg, 'native', `modelplug.${process.platform}-${process.arch}.node`));

run(process.execPath, [join(pkg, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', pkg], pkg);
