/**
 * Every `etl` verb and flag the READMEs document exists in the CLI. The command examples are
 * read out of README.md, cli/README.md and remote/README.md (inline code and code blocks), each
 * verb is looked up with `etl <verb> --help`, and each flag must be in that verb's help or the
 * global help. A documented command that does not exist (as `etl upload` once was) fails here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../cli/main';
import { REPO } from './harness';

const DOCS = ['README.md', 'cli/README.md', 'remote/README.md'];
/** Global options that take a value (they may stand before or after the verb). */
const GLOBALS_WITH_VALUE = new Set(['--stack', '--profile', '--region', '--home']);
const SUBCOMMANDS: Record<string, string[]> = { runs: ['show'], contract: ['check'] };

interface DocumentedCommand {
  readonly doc: string;
  readonly text: string;
  readonly verb: string[];
  readonly flags: string[];
}

/** The text of inline code spans and fenced code blocks, one snippet each (block: per line). */
function codeSnippets(markdown: string): string[] {
  const snippets: string[] = [];
  const fence = /```[^\n]*\n([\s\S]*?)```/g;
  for (const m of markdown.matchAll(fence)) snippets.push(...m[1]!.split('\n'));
  const prose = markdown.replace(fence, '');
  for (const m of prose.matchAll(/`([^`\n]+)`/g)) snippets.push(m[1]!.replace(/\\\|/g, '|'));
  return snippets;
}

/** Splits a command line into words, keeping "quoted strings" whole. */
function words(text: string): string[] {
  return [...text.matchAll(/"[^"]*"|'[^']*'|\S+/g)].map((m) => m[0]);
}

function documentedCommands(doc: string, markdown: string): DocumentedCommand[] {
  const found: DocumentedCommand[] = [];
  for (const snippet of codeSnippets(markdown)) {
    // `etl …`, `bin/etl …`, `npm run etl -- …`; a shell comment ends the command.
    for (const m of snippet.matchAll(/(?:^|[\s(])(?:bin\/)?etl(?: --)? +([^#]*)/g)) {
      const text = m[1]!.trim();
      const tokens = words(text).filter((t) => t !== '--' && t !== '…' && t !== '...');
      const verb: string[] = [];
      const flags: string[] = [];
      for (let i = 0; i < tokens.length; i++) {
        const t = tokens[i]!.replace(/^\[+/, '');
        const flag = /^--[a-z][a-z-]*/.exec(t)?.[0];
        if (flag) {
          flags.push(flag);
          if (GLOBALS_WITH_VALUE.has(flag) && !t.includes('=')) i += 1;
          continue;
        }
        if (verb.length === 0 && /^[a-z]+$/.test(t)) verb.push(t);
        else if (verb.length === 1 && SUBCOMMANDS[verb[0]!]?.includes(t)) verb.push(t);
      }
      if (verb.length > 0) found.push({ doc, text, verb, flags });
    }
  }
  return found;
}

async function help(args: string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const code = await main([...args, '--help'], {
    out: (t) => (text += t),
    err: (t) => (text += t),
    cwd: REPO,
    env: {},
    isTTY: false,
  });
  return { code, text };
}

describe('every documented etl verb and flag exists', () => {
  const commands = DOCS.flatMap((doc) => documentedCommands(doc, readFileSync(path.join(REPO, doc), 'utf8')));

  test('the docs name commands at all (the extraction works)', () => {
    expect(commands.length).toBeGreaterThan(30);
    const verbs = new Set(commands.map((c) => c.verb.join(' ')));
    for (const v of [
      'run',
      'runs',
      'runs show',
      'redrive',
      'query',
      'watch',
      'reconcile',
      'init',
      'contract check',
    ])
      expect(verbs).toContain(v);
    expect(commands.flatMap((c) => c.flags)).toEqual(
      expect.arrayContaining(['--stack', '--param', '--follow']),
    );
  });

  test('each documented command and flag is in the CLI', async () => {
    const global = await help([]);
    const problems: string[] = [];
    const helpOf = new Map<string, { code: number; text: string }>();
    for (const c of commands) {
      const key = c.verb.join(' ');
      if (!helpOf.has(key)) helpOf.set(key, await help(c.verb));
      const h = helpOf.get(key)!;
      if (h.code !== 0 || !h.text.includes(`Usage: etl ${key}`)) {
        problems.push(`${c.doc}: \`etl ${c.text}\` — there is no command "etl ${key}"`);
        continue;
      }
      for (const flag of c.flags) {
        const known = new RegExp(`(^|[\\s,])${flag}(?![a-z-])`, 'm');
        if (!known.test(h.text) && !known.test(global.text))
          problems.push(`${c.doc}: \`etl ${c.text}\` — "etl ${key}" has no ${flag}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('the check fails for what is not there (etl upload, upload --wait)', async () => {
    const fake = documentedCommands(
      'fake.md',
      '| `etl upload <file> --dataset D --stack S` | x |\n| `etl query "<SQL>" --nope` | y |',
    );
    expect(fake.map((c) => [c.verb.join(' '), c.flags])).toEqual([
      ['upload', ['--dataset', '--stack']],
      ['query', ['--nope']],
    ]);
    expect((await help(['upload'])).text).not.toMatch(/Usage: etl upload/);
    expect((await help(['runs', 'show'])).text).toMatch(/Usage: etl runs show/);
    expect((await help(['query'])).text).not.toMatch(/--nope/);
  });
});
