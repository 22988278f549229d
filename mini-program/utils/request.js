// The one way pages talk to the backend: base URL from config.js, the login, the token in storage, one silent
// re-login when the token is refused, Idempotency-Key on grant actions, and every error as a Chinese message.
const config = require('../config')
const { messageFor } = require('./errors')

const TOKEN_KEY = 'wxc_token'
// The invite code of the shared path the app was opened by; the first login carries it, then it is dropped.
const INVITER_KEY = 'wxc_inviter'

class ApiError extends Error {
  constructor(status, code, field) {
    super(messageFor(code))
    this.status = status
    this.code = code
    this.field = field
  }
}

// A fresh key per customer action; the page keeps it until an answer arrives, so a retry after a network error
// is the same action and the backend grants once.
function newIdempotencyKey() {
  let key = ''
  for (let i = 0; i < 32; i += 1) key += Math.floor(Math.random() * 16).toString(16)
  return key
}

function send({ path, method = 'GET', data, headers = {} }) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: config.baseUrl + path,
      method,
      data,
      header: { 'content-type': 'application/json', ...headers },
      timeout: 15000,
      success: (res) => resolve(res),
      fail: () => reject(new ApiError(0, 'network')),
    })
  })
}

function wxLoginCode() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => (res.code ? resolve(res.code) : reject(new ApiError(0, 'invalid_code'))),
      fail: () => reject(new ApiError(0, 'network')),
    })
  })
}

async function login() {
  const code = await wxLoginCode()
  const inviter = wx.getStorageSync(INVITER_KEY)
  const data = inviter ? { code, inviter } : { code }
  const res = await send({ path: '/api/v1/auth/wx-login', method: 'POST', data })
  if (res.statusCode !== 200) throw errorOf(res)
  wx.setStorageSync(TOKEN_KEY, res.data.token.token)
  wx.removeStorageSync(INVITER_KEY)
  return res.data.user
}

function errorOf(res) {
  const body = res.data && typeof res.data === 'object' ? res.data : {}
  return new ApiError(res.statusCode, body.code || 'internal_error', body.field)
}

const TOKEN_REFUSED = ['missing_token', 'invalid_token']

async function request({ path, method = 'GET', data, idempotencyKey, auth = true, contentType }) {
  const attempt = async () => {
    const headers = {}
    if (auth) {
      if (!wx.getStorageSync(TOKEN_KEY)) await login()
      headers.authorization = `Bearer ${wx.getStorageSync(TOKEN_KEY)}`
    }
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey
    // An image upload sends its bytes as they are, under its own type.
    if (contentType) headers['content-type'] = contentType
    return send({ path, method, data, headers })
  }
  let res = await attempt()
  if (auth && res.statusCode === 401 && TOKEN_REFUSED.includes(res.data && res.data.code)) {
    // Once only: a second refusal is shown, never a loop of logins.
    wx.removeStorageSync(TOKEN_KEY)
    res = await attempt()
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return res.data
  throw errorOf(res)
}

module.exports = { request, login, newIdempotencyKey, ApiError, TOKEN_KEY, INVITER_KEY }
