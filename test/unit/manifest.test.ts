/** package.json, the code's command ids and the README's tables describe one set of contributions. */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Commands, SETTING_NAMES, SETTINGS_SECTION, Views } from '../../extension/src/ids';

const root = join(__dirname, '../..');
interface Manifest {
  contributes: {
    commands: { command: string; title: string; category: string }[];
    configuration: { properties: Record<string, { default: unknown; description: string }> };
    views: Record<string, { id: string }[]>;
  };
}
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const declaredCommands = manifest.contributes.commands;
const declaredSettings = manifest.contributes.configuration.properties;

/** Rows of the markdown table under `## heading`: the cells of each row after the header line. */
function tableRows(heading: string): string[][] {
  const section = readme.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  assert.ok(section, `README has a "## ${heading}" section`);
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
}

test('the code registers exactly the command ids package.json declares', () => {
  assert.deepEqual(Object.values(Commands).sort(), declaredCommands.map((c) => c.command).sort());
});

test('every command has a title and the Reactor Scope category', () => {
  for (const c of declaredCommands) {
    assert.ok(c.title.length > 0, c.command);
    assert.equal(c.category, 'Reactor Scope', c.command);
  }
});

test('the README commands table matches package.json', () => {
  const rows = tableRows('Commands').map(([title, id]) => ({ title, id }));
  const expected = declaredCommands.map((c) => ({ title: `Reactor Scope: ${c.title}`, id: `\`${c.command}\`` }));
  assert.deepEqual(rows, expected);
});

test('the README settings table matches package.json', () => {
  const rows = tableRows('Settings').map(([id, fallback]) => ({ id, fallback }));
  const expected = Object.entries(declaredSettings).map(([id, s]) => ({
    id: `\`${id}\``,
    fallback: `\`${JSON.stringify(s.default)}\``,
  }));
  assert.deepEqual(rows, expected);
});

test('every setting has a description', () => {
  for (const [id, s] of Object.entries(declaredSettings)) assert.ok(s.description?.length > 10, id);
});

test('the code reads exactly the settings package.json declares', () => {
  const declared = Object.keys(declaredSettings).sort();
  const read = [...SETTING_NAMES.map((name) => `${SETTINGS_SECTION}.${name}`), 'reactorscope.trace.server'].sort();
  assert.deepEqual(read, declared);
});

test('the code provides exactly the views package.json declares', () => {
  const declared = Object.values(manifest.contributes.views).flat().map((v) => v.id).sort();
  assert.deepEqual(Object.values(Views).sort(), declared);
});

test('the walkthrough links only declared commands and settings, and its media ship in the package', () => {
  const walkthroughs = (manifest.contributes as unknown as { walkthroughs: { steps: { description: string; media: { image?: string; markdown?: string }; completionEvents?: string[] }[] }[] }).walkthroughs;
  assert.equal(walkthroughs.length, 1);
  const commands = new Set(declaredCommands.map((c) => c.command));
  const steps = walkthroughs[0]?.steps ?? [];
  assert.ok(steps.length >= 4);
  for (const step of steps) {
    const links = [...step.description.matchAll(/\(command:([\w.]+)(?:\?%22([\w.]+)%22)?\)/g)];
    assert.ok(links.length > 0, `a step links something to do: ${step.description}`);
    for (const [, command, setting] of links) {
      if (command === 'workbench.action.openSettings') assert.ok(setting && setting.replace(`${SETTINGS_SECTION}.`, '') in Object.fromEntries(SETTING_NAMES.map((n) => [n, 1])), `setting ${setting}`);
      else assert.ok(commands.has(command ?? ''), `command ${command}`);
    }
    for (const event of step.completionEvents ?? []) {
      const [kind, id] = event.split(':');
      if (kind === 'onCommand') assert.ok(commands.has(id ?? ''), event);
      else assert.ok(kind === 'onSettingChanged' && (id ?? '').startsWith(`${SETTINGS_SECTION}.`), event);
    }
    for (const file of [step.media.image, step.media.markdown]) if (file) assert.ok(existsSync(join(root, file)), `${file} exists`);
  }
});
