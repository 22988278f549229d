// Messages: whether the customer receives campaign messages at all, the reminders they have allowed (and how
// many are left: one consent is one message), and the prompt to allow more.
const config = require('../../config')
const { request } = require('../../utils/request')
const { askConsent } = require('../../utils/subscribe')

function view(settings) {
  const left = new Map(settings.consents.map((c) => [c.template_id, c.remaining]))
  return {
    receiving: !settings.opted_out,
    templates: config.subscribeTemplates.map((t) => ({ id: t.id, name: t.name, remaining: left.get(t.id) || 0 })),
  }
}

Component({
  data: { settings: null, error: '', notice: '' },
  methods: {
    async onLoad() {
      try {
        this.setData({ settings: view(await request({ path: '/api/v1/me/messages' })) })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    async subscribe() {
      this.setData({ error: '', notice: '' })
      try {
        const settings = await askConsent()
        if (!settings) {
          this.setData({ notice: '未开启提醒，可随时再来订阅' })
          return
        }
        this.setData({ settings: view(settings), notice: '已更新您的提醒设置' })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    async toggle(event) {
      const receiving = event.detail.value
      this.setData({ error: '', notice: '' })
      try {
        const settings = await request({ path: '/api/v1/me/messages', method: 'PUT', data: { opted_out: !receiving } })
        this.setData({ settings: view(settings), notice: receiving ? '已开启活动消息' : '已关闭活动消息，我们不再向您推送活动' })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
  },
})
