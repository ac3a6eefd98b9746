/**
 * Every error code the tool emits follows one convention: lowercase snake_case
 * (`upstream_not_configured`). A code is what callers branch on, what an error page shows as its
 * "Reference", what a JSON error body carries and what a log line's `code` field says, so one
 * spelling lets an operator search for it in all four places.
 *
 * The codes are read from the sources (the TypeScript parser, no regular expressions): the code
 * argument of every `new …Error(…)` and `super(…)` of an error class with a `code` parameter, every
 * `code` property an error class initialises or declares as a union of literals, every `…Code`
 * type, and every `code: '…'` in an object (log lines, JSON bodies). Codes of other systems stay as
 * they are and are not read here: ltijs's error messages (`MISSING_VALIDATION_COOKIE`), PostgreSQL's
 * SQLSTATEs, Node's and undici's error codes, the upstream API's codes, and the dev harness
 * (src/dev), which stands in for an LMS and the isnotai API.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
const SRC = path.join(ROOT, 'src');
const CONVENTION = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

interface Found {
  code: string;
  where: string;
  /** new X(…) / super(…), an error class's `code` property or parameter, a `…Code` type, an object's `code`. */
  site: 'argument' | 'class' | 'type' | 'object';
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return full === path.join(SRC, 'dev') ? [] : sourceFiles(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

const parsed = sourceFiles(SRC).map((file) => ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true));

function nameOf(node: ts.PropertyName | ts.BindingName | undefined): string | undefined {
  return node && (ts.isIdentifier(node) || ts.isStringLiteral(node)) ? node.text : undefined;
}

function literal(node: ts.Node | undefined): string | undefined {
  while (node && (ts.isAsExpression(node) || ts.isParenthesizedExpression(node) || ts.isSatisfiesExpression(node))) node = node.expression;
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;
}

/** The string literals of a type: `'a' | 'b'` gives both; anything else (`string`) gives none. */
function literalTypes(type: ts.TypeNode | undefined): string[] {
  if (!type) return [];
  if (ts.isUnionTypeNode(type)) return type.types.flatMap(literalTypes);
  if (ts.isParenthesizedTypeNode(type)) return literalTypes(type.type);
  if (ts.isLiteralTypeNode(type) && ts.isStringLiteral(type.literal)) return [type.literal.text];
  return [];
}

/** Classes by name: whether they declare a constructor, where it takes the code, and the class they extend. */
const classes = new Map<string, { ctor: boolean; codeParam: number | undefined; base: string | undefined }>();
for (const sf of parsed) {
  const visit = (node: ts.Node): void => {
    if (ts.isClassDeclaration(node) && node.name) {
      const ctor = node.members.find(ts.isConstructorDeclaration);
      const index = ctor?.parameters.findIndex((p) => nameOf(p.name) === 'code');
      const heritage = node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression;
      classes.set(node.name.text, {
        ctor: ctor !== undefined,
        codeParam: index === undefined || index < 0 ? undefined : index,
        base: heritage && ts.isIdentifier(heritage) ? heritage.text : undefined,
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

/** Where `new C(…)` takes the code: C's own constructor, or the one C inherits. */
function codeParam(className: string | undefined): number | undefined {
  for (let c = className, depth = 0; c && depth < 10; c = classes.get(c)?.base, depth++) {
    const info = classes.get(c);
    if (!info) return undefined;
    if (info.ctor) return info.codeParam;
  }
  return undefined;
}

function collect(): Found[] {
  const found: Found[] = [];
  for (const sf of parsed) {
    const add = (code: string | undefined, node: ts.Node, site: Found['site']) => {
      if (code === undefined) return;
      const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
      found.push({ code, where: `${path.relative(ROOT, sf.fileName).split(path.sep).join('/')}:${line + 1}`, site });
    };
    const visit = (node: ts.Node, enclosingClass: ts.ClassDeclaration | undefined): void => {
      if (ts.isNewExpression(node) && ts.isIdentifier(node.expression)) {
        const i = codeParam(node.expression.text);
        if (i !== undefined) add(literal(node.arguments?.[i]), node, 'argument');
      }
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.SuperKeyword && enclosingClass?.name) {
        const i = codeParam(classes.get(enclosingClass.name.text)?.base);
        if (i !== undefined) add(literal(node.arguments[i]), node, 'argument');
      }
      // readonly code = '…'; readonly code: 'a' | 'b' (a property or a constructor parameter)
      if ((ts.isPropertyDeclaration(node) || ts.isParameter(node) || ts.isPropertySignature(node)) && nameOf(node.name) === 'code') {
        add(literal(ts.isPropertySignature(node) ? undefined : node.initializer), node, 'class');
        for (const c of literalTypes(node.type)) add(c, node, 'class');
      }
      if (ts.isTypeAliasDeclaration(node) && /Code$/.test(node.name.text)) for (const c of literalTypes(node.type)) add(c, node, 'type');
      // { code: '…' }: log lines, JSON bodies
      if (ts.isPropertyAssignment(node) && nameOf(node.name) === 'code') add(literal(node.initializer), node, 'object');
      ts.forEachChild(node, (child) => visit(child, ts.isClassDeclaration(node) ? node : enclosingClass));
    };
    visit(sf, undefined);
  }
  return found;
}

const codes = collect();

test('the reader finds codes at every kind of site: arguments, error classes, code types, objects', () => {
  const at = (code: string) => codes.filter((c) => c.code === code).map((c) => `${c.site} ${c.where.replace(/:\d+$/, '')}`);
  expect(at('invalid_settings')).toContain('argument src/store/platformSettings.ts');
  // An isnotai error's super(…), and ConfigError's property.
  expect(at('config_invalid')).toEqual(expect.arrayContaining(['argument src/isnotai/errors.ts', 'class src/config.ts']));
  // A union of literals declared as a constructor parameter, a …Code type, an object (a thrown error's extra field).
  expect(at('nrps_not_offered')).toContain('class src/lti/roster.ts');
  expect(at('secret_unreadable')).toContain('type src/store/secrets.ts');
  expect(at('body_too_large')).toContain('object src/isnotai/client.ts');
  // HttpError's code, wherever the pages are made, and log lines' code fields.
  expect(codes.filter((c) => c.site === 'argument' && c.code === 'no_launch').length).toBeGreaterThan(0);
  expect(codes.filter((c) => c.site === 'object').length).toBeGreaterThan(3);
  expect(codes.length).toBeGreaterThan(60);
});

test('every error code the tool emits is lowercase snake_case', () => {
  const wrong = codes.filter((c) => !CONVENTION.test(c.code)).map((c) => `${c.where} ${c.code}`);
  expect(wrong).toEqual([]);
});
