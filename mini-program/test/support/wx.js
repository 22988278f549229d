// A DOM for miniprogram-simulate, and a `wx` whose network calls are real HTTP to the backend under test.
require('global-jsdom/register')
// Node 19+ has its own Event classes; j-component's tap events need jsdom's (DESIGN.md section 7).
global.Event = window.Event
global.CustomEvent = window.CustomEvent
global.EventTarget = window.EventTarget

const simulate = require('miniprogram-simulate')
const path = require('node:path')

const root = path.resolve(__dirname, '../..')
const storage = new Map()
// up: false fails every call before it leaves; loseAnswers: N sends the next N calls and loses their answers.
const network = { up: true, loseAnswers: 0, requests: [] }
let loginCodes = []
let loginCounter = 0
const navigations = []
const media = { next: null }
// What the subscribe prompt answers, by template id; unset: the customer allows every template asked.
const subscribeAnswers = { next: null, asked: [] }
const fs = require('node:fs')

function installWx(baseUrl) {
  require(path.join(root, 'config')).baseUrl = baseUrl
  global.wx.request = ({ url, method = 'GET', data, header = {}, success, fail, complete }) => {
    network.requests.push({ url, method, header })
    const binary = data instanceof ArrayBuffer || ArrayBuffer.isView(data)
    const body = data === undefined || method === 'GET' ? undefined : binary ? data : JSON.stringify(data)
    const done = (res, ok) => {
      if (ok) success && success(res)
      else fail && fail(res)
      complete && complete(res)
    }
    if (!network.up) {
      setTimeout(() => done({ errMsg: 'request:fail' }, false), 0)
      return
    }
    const lost = network.loseAnswers > 0
    if (lost) network.loseAnswers -= 1
    fetch(url, { method, headers: header, body })
      .then(async (res) => {
        if (lost) return done({ errMsg: 'request:fail timeout' }, false)
        const text = await res.text()
        let parsed = text
        try {
          parsed = JSON.parse(text)
        } catch (_) {
          // not JSON: handed over as text, as wx.request does
        }
        done({ statusCode: res.status, data: parsed, header: Object.fromEntries(res.headers) }, true)
      })
      .catch(() => done({ errMsg: 'request:fail' }, false))
  }
  global.wx.login = ({ success, fail }) => {
    loginCounter += 1
    const code = loginCodes.length ? loginCodes.shift() : `mp-${process.pid}-${loginCounter}`
    setTimeout(() => success && success({ code, errMsg: 'login:ok' }), 0)
  }
  global.wx.getStorageSync = (key) => (storage.has(key) ? storage.get(key) : '')
  global.wx.setStorageSync = (key, value) => storage.set(key, value)
  global.wx.removeStorageSync = (key) => storage.delete(key)
  global.wx.navigateTo = ({ url }) => navigations.push(url)
  global.wx.stopPullDownRefresh = () => {}
  global.wx.requestSubscribeMessage = ({ tmplIds, success, fail }) => {
    subscribeAnswers.asked.push(tmplIds)
    const answers = subscribeAnswers.next
    if (answers === 'fail') {
      setTimeout(() => fail({ errMsg: 'requestSubscribeMessage:fail cancel', errCode: 20004 }), 0)
      return
    }
    const res = { errMsg: 'requestSubscribeMessage:ok' }
    for (const id of tmplIds) res[id] = answers ? answers[id] || 'reject' : 'accept'
    setTimeout(() => success(res), 0)
  }
  // The photo picker answers the file the test chose; the file system reads it from disk as the device would.
  global.wx.chooseMedia = ({ success, fail }) => {
    const file = media.next
    setTimeout(() => (file ? success({ tempFiles: [{ tempFilePath: file, size: fs.statSync(file).size, fileType: 'image' }] }) : fail({ errMsg: 'chooseMedia:fail cancel' })), 0)
  }
  global.wx.getFileSystemManager = () => ({
    readFile: ({ filePath, success, fail }) => {
      fs.readFile(filePath, (error, data) => (error ? fail({ errMsg: error.message }) : success({ data: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) })))
    },
  })
}

// What the next subscribe prompts answer: `{ id: 'accept' | 'reject' | 'ban' }`, `'fail'` (it did not open), or
// null (every template allowed).
function nextSubscribeAnswers(answers) {
  subscribeAnswers.next = answers
}

// The next photo the picker returns (a file path), or none (the customer cancels).
function nextMedia(file) {
  media.next = file
}

// The next wx.login calls answer these codes (then fresh ones).
function nextLoginCodes(...codes) {
  loginCodes = codes
}

function resetSession() {
  storage.clear()
  loginCodes = []
  network.requests.length = 0
  network.up = true
  network.loseAnswers = 0
  navigations.length = 0
  subscribeAnswers.next = null
  subscribeAnswers.asked.length = 0
}

// Renders a page (pages use the Component constructor, so they load like components) and runs its onLoad.
async function openPage(name, query = {}) {
  const id = simulate.load(path.join(root, 'pages', name, 'index'), { compiler: 'simulate', rootPath: root })
  const page = simulate.render(id)
  page.attach(document.createElement('parent-wrapper'))
  await page.instance.onLoad(query)
  return page
}

// Taps run async handlers that wait on real HTTP: wait until the page shows what the test expects.
async function until(check, what, ms = 5000) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last request: ${(network.requests[network.requests.length - 1] || {}).url}, ${network.requests.length} sent)`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

module.exports = { until, simulate, installWx, nextLoginCodes, nextMedia, nextSubscribeAnswers, subscribeAnswers, resetSession, openPage, storage, network, navigations }
