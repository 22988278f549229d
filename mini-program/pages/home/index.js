// Home: live and upcoming campaigns with their countdowns.
const { request, INVITER_KEY } = require('../../utils/request')
const { countdown } = require('../../utils/format')

const STATUS = { live: '进行中', preheat: '预热中', upcoming: '即将开始', ended: '已结束' }

Component({
  data: { campaigns: [], error: '', loading: true },
  methods: {
    onLoad(query = {}) {
      // Opened through a friend's shared path: the first login credits that friend (only if this is a new customer).
      if (query.inviter) wx.setStorageSync(INVITER_KEY, query.inviter)
      return this.load()
    },
    onPullDownRefresh() {
      return this.load()
    },
    async load() {
      this.setData({ loading: true, error: '' })
      try {
        const calendar = await request({ path: '/api/v1/calendar', auth: false })
        const campaigns = calendar.campaigns.map((c) => ({
          slug: c.slug,
          name: c.name,
          theme: c.theme,
          status: STATUS[c.status] || c.status,
          live: c.status === 'live' && !c.paused,
          paused: c.paused,
          countdown: c.status === 'live' ? `距结束 ${countdown(c.ends_in_secs)}` : `距开始 ${countdown(c.starts_in_secs)}`,
        }))
        this.setData({ campaigns, loading: false })
      } catch (error) {
        this.setData({ error: error.message, loading: false })
      }
    },
    openCampaign(event) {
      wx.navigateTo({ url: `/pages/campaign/index?slug=${event.currentTarget.dataset.slug}` })
    },
  },
})
