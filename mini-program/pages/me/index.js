// Me: the profile, phone binding through getPhoneNumber, the official-account follow state, and the way to
// points, coupons and prizes.
const { request } = require('../../utils/request')

function view(profile) {
  return {
    phone: profile.phone || '',
    follows: profile.follows_official_account,
  }
}

Component({
  data: { profile: null, error: '', notice: '' },
  methods: {
    async onLoad() {
      try {
        this.setData({ profile: view(await request({ path: '/api/v1/me' })) })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    // <button open-type="getPhoneNumber">: WeChat hands a one-time code once the customer agrees.
    async bindPhone(event) {
      const code = event.detail && event.detail.code
      if (!code) {
        this.setData({ error: '需要您的授权才能绑定手机号' })
        return
      }
      this.setData({ error: '', notice: '' })
      try {
        const profile = await request({ path: '/api/v1/me/phone', method: 'POST', data: { code } })
        this.setData({ profile: view(profile), notice: '手机号绑定成功' })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    open(event) {
      wx.navigateTo({ url: `/pages/${event.currentTarget.dataset.page}/index` })
    },
  },
})
