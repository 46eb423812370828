// serverless.yml: `Definition: ${file(./scripts/org-scan-definition.js):definition}`. The state
// machine's definition is statemachine/org-scan.asl.json, loaded here rather than with
// ${file(….json)} so that Serverless does not take its DefinitionSubstitutions placeholders
// (${PlanFunctionArn}…) for its own variables; CloudFormation substitutes them.
const { readFileSync } = require('node:fs');
const path = require('node:path');

module.exports = () => ({ definition: JSON.parse(readFileSync(path.join(__dirname, '../statemachine/org-scan.asl.json'), 'utf8')) });
