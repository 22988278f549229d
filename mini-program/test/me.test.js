const test = require('node:test')
const assert = require('node:assert')
const { useBackend } = require('./support/app')
const wxs = require('./support/wx')

const app = useBackend()

test('me: the phone number is bound through getPhoneNumber and shown masked; the follow state is shown', async () => {
  const page = await wxs.openPage('me')
  assert.match(page.querySelector('.phone').dom.textContent, /未绑定/)
  assert.match(page.querySelector('.follow').dom.textContent, /未关注/)

  const before = app.backend.wechat.phone
  page.querySelector('.bind').dispatchEvent('getphonenumber', { detail: { code: 'phone-code-1' } })
  await wxs.until(() => page.querySelector('.notice'), 'the binding notice')
  assert.strictEqual(app.backend.wechat.phone, before + 1)
  assert.strictEqual(page.querySelector('.phone').dom.textContent, '手机号：138****5678')
  assert.strictEqual(page.querySelector('.bind'), undefined)
})

test('me: a customer who declines getPhoneNumber is told why, and nothing is sent', async () => {
  const page = await wxs.openPage('me')
  const before = app.backend.wechat.phone
  page.querySelector('.bind').dispatchEvent('getphonenumber', { detail: { errMsg: 'getPhoneNumber:fail user deny' } })
  await wxs.until(() => page.querySelector('.error'), 'the refusal')
  assert.strictEqual(page.querySelector('.error').dom.textContent, '需要您的授权才能绑定手机号')
  assert.strictEqual(app.backend.wechat.phone, before)
})
