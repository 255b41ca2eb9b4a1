/**
 * The rooms of the code and who may import whom (README, "Architecture"). Run by `npm run lint`.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'shared/domain imports nothing but itself and zod: no AWS, no I/O, no adapters, no use cases.',
      severity: 'error',
      from: { path: '^shared/domain/' },
      to: { pathNot: ['^shared/domain/', '^node_modules/zod/'] },
    },
    {
      name: 'ports-import-only-the-domain',
      comment: 'shared/ports.ts describes what the use cases need in domain terms only.',
      severity: 'error',
      from: { path: '^shared/ports[.]ts$' },
      to: { pathNot: ['^shared/domain/', '^node_modules/zod/'] },
    },
    {
      name: 'app-never-imports-adapters',
      comment:
        'shared/app (the use cases) imports the domain, the ports and shared helpers (errors, observability), never an adapter, the composition root or a handler.',
      severity: 'error',
      from: { path: '^shared/app/' },
      to: { path: ['^shared/adapters/', '^shared/composition[.]ts$', '^functions/', '^local/', '^infra/'] },
    },
    {
      name: 'handlers-and-local-go-through-the-composition-root',
      comment:
        'functions/ and local/ get their adapters from shared/composition.ts; the one exception is the table key schema (shared/adapters/dynamodb/keys.ts), which local/resources.ts needs to create the table as infra/ does.',
      severity: 'error',
      from: { path: ['^functions/', '^local/'] },
      to: { path: '^shared/adapters/', pathNot: '^shared/adapters/dynamodb/keys[.]ts$' },
    },
    {
      name: 'adapters-never-import-use-cases',
      comment: 'An adapter implements a port; it does not call the use cases or the composition root.',
      severity: 'error',
      from: { path: '^shared/adapters/' },
      to: { path: ['^shared/app/', '^shared/composition[.]ts$', '^functions/', '^local/'] },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^node_modules/', '^cdk[.]out/', '^dist/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
