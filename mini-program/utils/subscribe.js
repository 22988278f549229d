// The consent prompt: wx.requestSubscribeMessage for the configured templates (or some of them), then what the
// customer chose reported to the backend, where each "accept" allows one more message of its template.
const config = require('../config')
const { request } = require('./request')

function ask(tmplIds) {
  return new Promise((resolve, reject) => {
    wx.requestSubscribeMessage({
      tmplIds,
      success: (res) => resolve(res),
      fail: (err) => reject(err),
    })
  })
}

// Asks, reports and returns the customer's message settings; `null` when the prompt did not open.
async function askConsent(ids = config.subscribeTemplates.map((t) => t.id)) {
  const tmplIds = ids.slice(0, 3)
  let answer
  try {
    answer = await ask(tmplIds)
  } catch (_) {
    return null
  }
  const results = {}
  for (const id of tmplIds) {
    if (typeof answer[id] === 'string') results[id] = answer[id]
  }
  if (!Object.keys(results).length) return null
  return request({ path: '/api/v1/me/subscriptions', method: 'POST', data: { results } })
}

module.exports = { askConsent }
