const test = require('node:test')
const assert = require('node:assert')
const { useBackend } = require('./support/app')
const wxs = require('./support/wx')
const { request, TOKEN_KEY, newIdempotencyKey } = require('../utils/request')

const app = useBackend()

test('the first call logs in through wx.login and jscode2session and keeps the token', async () => {
  const before = app.backend.wechat.jscode2session
  const me = await request({ path: '/api/v1/me' })
  assert.ok(me.id > 0)
  assert.strictEqual(app.backend.wechat.jscode2session, before + 1)
  assert.ok(wxs.storage.get(TOKEN_KEY))
  await request({ path: '/api/v1/me' })
  assert.strictEqual(app.backend.wechat.jscode2session, before + 1, 'the kept token is used, no second login')
})

test('a refused token logs in again once, silently, and the call succeeds', async () => {
  wxs.storage.set(TOKEN_KEY, 'expired.or.forged')
  const before = app.backend.wechat.jscode2session
  const me = await request({ path: '/api/v1/me' })
  assert.ok(me.id > 0)
  assert.strictEqual(app.backend.wechat.jscode2session, before + 1)
  assert.notStrictEqual(wxs.storage.get(TOKEN_KEY), 'expired.or.forged')
})

test('a login WeChat refuses is shown in Chinese, and is tried once only', async () => {
  wxs.storage.set(TOKEN_KEY, 'expired.or.forged')
  wxs.nextLoginCodes('bad-1', 'bad-2')
  const before = app.backend.wechat.jscode2session
  await assert.rejects(request({ path: '/api/v1/me' }), (error) => {
    assert.strictEqual(error.code, 'invalid_code')
    assert.strictEqual(error.message, '登录凭证已失效，请重新进入')
    return true
  })
  assert.strictEqual(app.backend.wechat.jscode2session, before + 1)
})

test('an error code from the API arrives as its Chinese message', async () => {
  await assert.rejects(request({ path: '/api/v1/campaigns/no-such-campaign', auth: false }), (error) => {
    assert.strictEqual(error.status, 404)
    assert.strictEqual(error.code, 'campaign_not_found')
    assert.strictEqual(error.message, '活动不存在或已下线')
    return true
  })
})

test('a grant action carries its Idempotency-Key', async () => {
  const key = newIdempotencyKey()
  assert.match(key, /^[0-9a-f]{32}$/)
  // An empty body is refused, but only after the request went out with its key.
  await assert.rejects(request({ path: '/api/v1/points/redeem', method: 'POST', data: {}, idempotencyKey: key }), (error) => {
    assert.strictEqual(error.status, 400)
    return true
  })
  const sent = wxs.network.requests.find((r) => r.url.endsWith('/api/v1/points/redeem'))
  assert.strictEqual(sent.header['idempotency-key'], key)
})
