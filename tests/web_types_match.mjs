// Checks that the types of examples/web/pipeline-client.ts say what
// service/assets/openapi.json says: for each pair of a TypeScript type and a
// schema, the same property names, the same required ones, null allowed on
// the same ones, and the same string values where either side enumerates
// them; nested objects and array items are compared the same way.
// Usage: node tests/web_types_match.mjs <source dir>. Exit 1 with one line per
// difference.
import { readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

const sourceDir = process.argv[2] ?? ".";
const clientPath = path.join(sourceDir, "examples/web/pipeline-client.ts");
const openapi = JSON.parse(readFileSync(path.join(sourceDir, "service/assets/openapi.json"), "utf8"));
const schemas = openapi.components.schemas;

// TypeScript type -> schema; the rest is reached through their properties.
const roots = [
  ["Run", "Run"],
  ["RunList", "RunList"],
  ["RunCreated", "RunCreated"],
  ["RunAccepted", "RunAccepted"],
  ["BrandList", "BrandList"],
  ["Problem", "Problem"],
  ["RunEvent", "Event"],
  ["RunStatus", "RunStatus"],
  ["Priority", "Priority"],
  ["StageName", "StageName"],
];

const program = ts.createProgram([clientPath], {
  strict: true,
  noEmit: true,
  types: [],
  lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
});
const checker = program.getTypeChecker();
const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(clientPath));
if (!moduleSymbol) throw new Error(`${clientPath}: no module`);
const exported = new Map(checker.getExportsOfModule(moduleSymbol).map((symbol) => [symbol.name, symbol]));

const problems = [];

function resolve(schema) {
  while (schema && schema.$ref) schema = schemas[schema.$ref.replace("#/components/schemas/", "")];
  return schema ?? {};
}

// The schema without its null alternative, and whether it had one.
function withoutNull(schema) {
  schema = resolve(schema);
  for (const key of ["oneOf", "anyOf"]) {
    if (!schema[key]) continue;
    const rest = schema[key].filter((alternative) => resolve(alternative).type !== "null");
    if (rest.length === 1 && rest.length < schema[key].length) return { schema: resolve(rest[0]), nullable: true };
  }
  if (Array.isArray(schema.type) && schema.type.includes("null")) {
    const types = schema.type.filter((type) => type !== "null");
    return { schema: { ...schema, type: types.length === 1 ? types[0] : types }, nullable: true };
  }
  return { schema, nullable: false };
}

// The type without null and undefined, and whether null was in it.
function tsWithoutNull(type) {
  if (!type.isUnion()) return { type, nullable: (type.flags & ts.TypeFlags.Null) !== 0 };
  const rest = type.types.filter((member) => !(member.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)));
  const nullable = type.types.some((member) => member.flags & ts.TypeFlags.Null);
  if (rest.length === type.types.length) return { type, nullable };
  // Booleans are the union true | false; keep such a rest as it is.
  return { type: rest.length === 1 ? rest[0] : { ...type, types: rest, isUnion: () => true }, nullable };
}

// The string values a type enumerates, or null when it is open.
function stringValues(type) {
  const members = type.isUnion() ? type.types : [type];
  if (!members.every((member) => member.isStringLiteral?.())) return null;
  return members.map((member) => member.value).sort();
}

function compare(type, schema, where) {
  const { schema: plain } = withoutNull(schema);
  const wanted = Array.isArray(plain.enum) && plain.enum.every((value) => typeof value === "string") ? [...plain.enum].sort() : null;
  const have = stringValues(type);
  if (wanted || have) {
    if (JSON.stringify(wanted) !== JSON.stringify(have)) {
      problems.push(`${where}: TypeScript has ${have ? have.join("|") : "an open string"}, openapi.json ${wanted ? wanted.join("|") : "an open string"}`);
    }
    return;
  }
  if (plain.type === "array" && plain.items) {
    if (!checker.isArrayType(type)) {
      problems.push(`${where}: an array in openapi.json, not in TypeScript`);
      return;
    }
    compare(checker.getTypeArguments(type)[0], plain.items, `${where}[]`);
    return;
  }
  if (plain.type === "object" && plain.properties) compareObject(type, plain, where);
}

function compareObject(type, schema, where) {
  const required = new Set(schema.required ?? []);
  const tsProperties = new Map(checker.getPropertiesOfType(type).map((symbol) => [symbol.name, symbol]));
  for (const name of Object.keys(schema.properties)) {
    if (!tsProperties.has(name)) problems.push(`${where}.${name}: in openapi.json, missing in TypeScript`);
  }
  for (const [name, symbol] of tsProperties) {
    const property = schema.properties[name];
    if (!property) {
      problems.push(`${where}.${name}: in TypeScript, missing in openapi.json`);
      continue;
    }
    const optional = (symbol.flags & ts.SymbolFlags.Optional) !== 0;
    if (optional === required.has(name)) {
      problems.push(`${where}.${name}: ${optional ? "optional" : "required"} in TypeScript, not in openapi.json`);
    }
    const { type: propertyType, nullable } = tsWithoutNull(checker.getTypeOfSymbol(symbol));
    const schemaNullable = withoutNull(property).nullable;
    if (nullable !== schemaNullable) {
      problems.push(`${where}.${name}: null ${nullable ? "allowed" : "not allowed"} in TypeScript, ${schemaNullable ? "allowed" : "not allowed"} in openapi.json`);
    }
    compare(propertyType, property, `${where}.${name}`);
  }
}

for (const [tsName, schemaName] of roots) {
  const symbol = exported.get(tsName);
  if (!symbol) {
    problems.push(`${tsName}: not exported by pipeline-client.ts`);
    continue;
  }
  if (!schemas[schemaName]) {
    problems.push(`${schemaName}: no such schema in openapi.json`);
    continue;
  }
  compare(checker.getDeclaredTypeOfSymbol(symbol), schemas[schemaName], tsName);
}

if (problems.length > 0) {
  for (const line of problems) console.error(`web types: ${line}`);
  process.exit(1);
}
console.log(`web types: ${roots.length} types of pipeline-client.ts match openapi.json`);
