/**
 * A type-aware check for floating promises, the rule typescript-eslint calls
 * `no-floating-promises`. The project compiles with TypeScript 7, which has no
 * JavaScript compiler API for typescript-eslint to run on, so this uses the
 * TypeScript 5 compiler API (devDependency `typescript5`) for its parser and
 * type checker only.
 *
 * A promise is owned when its failure is handled where it is started: it is
 * awaited, returned, assigned or passed somewhere (someone else owns it), or
 * the statement that starts it ends in `.catch(handler)` or
 * `.then(onFulfilled, onRejected)`. A statement whose value is a promise and
 * that does none of these — `p;`, `void p;`, `void p.finally(f);`,
 * `p.then(f);` — floats: its rejection reaches Node as unhandled, which exits
 * the process under the default `--unhandled-rejections=throw`.
 */
import ts from 'typescript5';

export interface FloatingPromise {
  file: string;
  line: number;
  text: string;
}

/** Is the statement's expression handled at its outermost call? */
function handledAtTop(expr: ts.Expression): boolean {
  let e = expr;
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  if (!ts.isCallExpression(e)) return false;
  const callee = e.expression;
  if (!ts.isPropertyAccessExpression(callee)) return false;
  const name = callee.name.text;
  if (name === 'catch') return e.arguments.length >= 1;
  if (name === 'then') return e.arguments.length >= 2;
  return false;
}

function isThenable(checker: ts.TypeChecker, node: ts.Node): boolean {
  const type = checker.getTypeAtLocation(node);
  const parts = type.isUnion() ? type.types : [type];
  return parts.some((t) => {
    const then = t.getProperty('then');
    if (!then) return false;
    const thenType = checker.getTypeOfSymbolAtLocation(then, node);
    return thenType.getCallSignatures().length > 0;
  });
}

function returnsThenable(checker: ts.TypeChecker, fn: ts.ArrowFunction | ts.FunctionExpression): boolean {
  const sig = checker.getSignatureFromDeclaration(fn);
  if (!sig) return false;
  const ret = checker.getReturnTypeOfSignature(sig);
  const parts = ret.isUnion() ? ret.types : [ret];
  return parts.some((t) => {
    const then = t.getProperty('then');
    return !!then && checker.getTypeOfSymbolAtLocation(then, fn).getCallSignatures().length > 0;
  });
}

/** The parameter the function is passed as wants a function returning void. */
function expectsVoid(checker: ts.TypeChecker, fn: ts.ArrowFunction | ts.FunctionExpression): boolean {
  const ctx = checker.getContextualType(fn);
  if (!ctx) return false;
  const sigs = (ctx.isUnion() ? ctx.types : [ctx]).flatMap((t) => t.getCallSignatures());
  return sigs.length > 0 && sigs.every((s) => (checker.getReturnTypeOfSignature(s).flags & ts.TypeFlags.Void) !== 0);
}

/** Every floating promise in the program's source files that `accept` names. */
export function findFloatingPromises(program: ts.Program, accept: (fileName: string) => boolean): FloatingPromise[] {
  const checker = program.getTypeChecker();
  const found: FloatingPromise[] = [];
  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || !accept(sf.fileName)) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isExpressionStatement(node)) {
        let e: ts.Expression = node.expression;
        while (ts.isParenthesizedExpression(e)) e = e.expression;
        const inner = ts.isVoidExpression(e) ? e.expression : e;
        // An assignment hands the promise to whoever reads the variable.
        const assigns = ts.isBinaryExpression(inner) && inner.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && inner.operatorToken.kind <= ts.SyntaxKind.LastAssignment;
        if (!assigns && !ts.isAwaitExpression(inner) && isThenable(checker, inner) && !handledAtTop(inner)) {
          const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
          found.push({ file: sf.fileName, line: line + 1, text: node.getText(sf).split('\n')[0]!.slice(0, 120) });
        }
      }
      // An async callback handed to something that ignores its result (an event emitter,
      // setTimeout): its rejection has no owner either (typescript-eslint's checksVoidReturn).
      if ((ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && node.parent && (ts.isCallExpression(node.parent) || ts.isNewExpression(node.parent)) && node.parent.expression !== node) {
        if (returnsThenable(checker, node) && expectsVoid(checker, node)) {
          const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
          found.push({ file: sf.fileName, line: line + 1, text: `callback returns a promise nobody reads: ${node.getText(sf).split('\n')[0]!.slice(0, 90)}` });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return found;
}

/** The project's program, from its tsconfig.json. */
export function projectProgram(tsconfigPath: string): ts.Program {
  const read = ts.readConfigFile(tsconfigPath, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, tsconfigPath.replace(/[/\\][^/\\]*$/, ''));
  return ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, noEmit: true } });
}

/** A program over in-memory sources, for the check's own tests. */
export function programOf(sources: Record<string, string>): ts.Program {
  const options: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, strict: true, lib: ['lib.es2023.d.ts'], noEmit: true, types: [] };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang) => (name in sources ? ts.createSourceFile(name, sources[name]!, lang) : getSourceFile(name, lang));
  host.fileExists = ((fe) => (name: string) => name in sources || fe(name))(host.fileExists.bind(host));
  return ts.createProgram({ rootNames: Object.keys(sources), options, host });
}
