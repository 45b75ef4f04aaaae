"""The page audits (issue 14): the main pages each persona uses, checked by
axe-core and the Nu HTML checker in the browser tests and by Lighthouse in
`make audit` (python -m audit.lighthouse). The tools come from npm
(`make audit-tools`, audit/package.json) into audit/node_modules."""
