const test = require('node:test')
const assert = require('node:assert')
const { useBackend } = require('./support/app')
const { MESSAGES } = require('../utils/errors')

const app = useBackend()

test('every error code in the OpenAPI document has a Chinese message', async () => {
  const doc = await (await fetch(`${app.backend.baseUrl}/openapi.json`)).json()
  const codes = doc.components.schemas.ErrorCode.enum
  assert.ok(codes.length > 50, `the document lists ${codes.length} codes`)
  const missing = codes.filter((code) => !MESSAGES[code])
  assert.deepStrictEqual(missing, [], `codes without a message: ${missing.join(', ')}`)
  for (const code of codes) assert.match(MESSAGES[code], /[\u4e00-\u9fff]/, `${code} is not in Chinese`)
})
