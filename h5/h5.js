// What every H5 page shares: calls to the API, money in yuan, and the share card, which needs WeChat's JS-SDK.
// Outside WeChat the page works the same, without the share card (the SDK is only loaded inside WeChat, so an
// ordinary browser never reaches for res.wx.qq.com).
'use strict'
const h5 = (() => {
  const inWeChat = /MicroMessenger/i.test(navigator.userAgent)

  async function api(path, { method = 'GET', body } = {}) {
    const response = await fetch(path, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: 'same-origin',
    })
    const data = await response.json().catch(() => ({}))
    if (!response.ok) {
      const error = new Error(MESSAGES[data.code] || '系统开小差了，请稍后再试')
      error.code = data.code
      error.field = data.field
      throw error
    }
    return data
  }

  const MESSAGES = {
    invalid_input: '填写的内容有误，请检查后重试',
    invalid_body: '填写的内容有误，请检查后重试',
    campaign_not_live: '活动未开始或已结束',
    activity_not_live: '该活动未开始或已结束',
    campaign_paused: '活动暂停中，请稍后再来',
    activity_not_found: '活动不存在或已下线',
    campaign_not_found: '活动不存在或已下线',
    poster_not_found: '海报不存在或已失效',
    rate_limited: '操作太频繁，请稍后再试',
  }

  function yuan(fen) {
    return (fen / 100).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
  }

  function loadSdk() {
    return new Promise((resolve, reject) => {
      const script = document.createElement('script')
      script.src = 'https://res.wx.qq.com/open/js/jweixin-1.6.0.js'
      script.onload = resolve
      script.onerror = reject
      document.head.appendChild(script)
    })
  }

  // The share card of this page, inside WeChat. Sharing earns nothing: it only says what the card shows.
  async function share({ title, desc, imgUrl }) {
    if (!inWeChat) return false
    const url = location.href.split('#')[0]
    const config = await api(`/api/v1/jssdk/config?url=${encodeURIComponent(url)}`)
    await loadSdk()
    window.wx.config({ ...config, jsApiList: ['updateAppMessageShareData', 'updateTimelineShareData'] })
    window.wx.ready(() => {
      const card = { title, desc, link: url, imgUrl }
      window.wx.updateAppMessageShareData(card)
      window.wx.updateTimelineShareData(card)
    })
    return true
  }

  return { api, yuan, share, inWeChat }
})()
