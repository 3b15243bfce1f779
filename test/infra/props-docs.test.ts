/**
 * Every construct prop and setting is documented the way aws-solutions-constructs documents its
 * props: TSDoc on each property, and on each optional one an `@default` saying what happens when it
 * is left out. The TypeScript compiler parses the files (no type checking, so it takes well under a
 * second), which sees TSDoc exactly as editors and API-doc tools do.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const REPO = path.resolve(__dirname, '../..');
const INFRA = path.join(REPO, 'infra');

/** Interfaces (or object types) whose members are props or settings someone sets. */
const DOCUMENTED = /(Props|Config|Settings)$/;

interface Finding {
  /** `Interface` names found, to show the walk saw what it should. */
  readonly checked: string[];
  /** `file: Interface.property what is missing`, one per problem. */
  readonly problems: string[];
}

function isExported(node: ts.Node): boolean {
  return (
    ts.canHaveModifiers(node) && !!ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
  );
}

/** The TSDoc text of a member (description and tags), or '' when it has none. */
function tsdocOf(member: ts.Node): { text: string; defaultTag?: string } {
  const docs = ts.getJSDocCommentsAndTags(member).filter(ts.isJSDoc);
  const text = docs
    .map((d) => ts.getTextOfJSDocComment(d.comment) ?? '')
    .join('\n')
    .trim();
  const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === 'default');
  return tag === undefined
    ? { text }
    : { text, defaultTag: (ts.getTextOfJSDocComment(tag.comment) ?? '').trim() };
}

/** What is missing from the props and settings types of one source file. */
export function undocumentedProps(fileName: string, sourceText: string): Finding {
  const source = ts.createSourceFile(fileName, sourceText, ts.ScriptTarget.Latest, true);
  const checked: string[] = [];
  const problems: string[] = [];
  const checkMembers = (owner: string, members: ts.NodeArray<ts.TypeElement>) => {
    checked.push(owner);
    for (const member of members) {
      if (!ts.isPropertySignature(member)) continue;
      const where = `${fileName}: ${owner}.${member.name.getText(source)}`;
      const doc = tsdocOf(member);
      if (doc.text === '') problems.push(`${where} has no TSDoc description`);
      if (member.questionToken !== undefined && !doc.defaultTag)
        problems.push(`${where} is optional and has no @default (say what happens when it is left out)`);
    }
  };
  const visit = (node: ts.Node) => {
    if (ts.isInterfaceDeclaration(node) && isExported(node) && DOCUMENTED.test(node.name.text))
      checkMembers(node.name.text, node.members);
    else if (
      ts.isTypeAliasDeclaration(node) &&
      isExported(node) &&
      DOCUMENTED.test(node.name.text) &&
      ts.isTypeLiteralNode(node.type)
    )
      checkMembers(node.name.text, node.type.members);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { checked, problems };
}

function infraSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return infraSources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

describe('props and settings documentation', () => {
  test('the check names the interface and property that lack TSDoc or an @default', () => {
    const { checked, problems } = undocumentedProps(
      'sample.ts',
      `export interface SampleProps {
         readonly bare: string;
         /** Documented, required: no default needed. */
         readonly required: string;
         /** Documented, optional, but no default. */
         readonly noDefault?: number;
         /** Documented with its default. @default 5 */
         readonly withDefault?: number;
         /** An empty default says nothing. @default */
         readonly emptyDefault?: number;
       }
       export type OtherSettings = { readonly loose?: boolean };
       interface PrivateProps { readonly ignored?: string }
       export interface NotAPropsBag { readonly ignored?: string }`,
    );

    expect(checked).toEqual(['SampleProps', 'OtherSettings']);
    expect(problems).toEqual([
      'sample.ts: SampleProps.bare has no TSDoc description',
      'sample.ts: SampleProps.noDefault is optional and has no @default (say what happens when it is left out)',
      'sample.ts: SampleProps.emptyDefault is optional and has no @default (say what happens when it is left out)',
      'sample.ts: OtherSettings.loose has no TSDoc description',
      'sample.ts: OtherSettings.loose is optional and has no @default (say what happens when it is left out)',
    ]);
  });

  test('every property of every exported Props, Config or Settings type under infra/ has TSDoc, and every optional one an @default', () => {
    const checked: string[] = [];
    const problems: string[] = [];
    for (const file of infraSources(INFRA)) {
      const found = undocumentedProps(path.relative(REPO, file), readFileSync(file, 'utf8'));
      checked.push(...found.checked);
      problems.push(...found.problems);
    }

    // The walk saw the constructs' props and the stack's configuration at all.
    expect(checked).toEqual(
      expect.arrayContaining([
        'PipelineConfig',
        'GlueSettings',
        'LakeStorageProps',
        'LakeCatalogProps',
        'GlueTransformProps',
        'PipelineAlertsProps',
        'NotificationTopicProps',
      ]),
    );
    expect(problems).toEqual([]);
  });
});
