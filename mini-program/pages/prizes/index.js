// My prizes: every win, newest first, with where it stands; a physical prize's delivery address is filled in
// here, once.
const { request } = require('../../utils/request')
const { yuan } = require('../../utils/format')

const STATES = {
  credited: '已到账至我的积分',
  issued: '已发放至我的优惠券',
  pending: '待发放，工作人员将与您联系',
  awaiting_address: '待填写收货地址',
  address_submitted: '已提交地址，等待发货',
  shipped: '已发货',
}

// What each address field must be, said where the customer typed it.
const FIELD_MESSAGES = {
  recipient: '请填写收件人姓名（30字以内）',
  phone: '请填写11位手机号码',
  address: '请填写详细地址（5至200字）',
}

// The date in Beijing time (UTC+8, no daylight saving), as the campaign's rules count days.
function beijingDate(utc) {
  return new Date(Date.parse(utc) + 8 * 3600 * 1000).toISOString().slice(0, 10)
}

function view(prize) {
  const delivery = prize.fulfilment.delivery
  return {
    drawId: prize.draw_id,
    name: prize.prize.name,
    value: prize.prize.kind === 'points' ? `${prize.prize.points}积分` : `价值${yuan(prize.prize.value_fen)}元`,
    campaign: prize.campaign_name,
    wonAt: beijingDate(prize.won_at),
    state: prize.fulfilment.state,
    stateText: STATES[prize.fulfilment.state] || '',
    needsAddress: prize.fulfilment.state === 'awaiting_address',
    delivery: delivery && {
      recipient: delivery.recipient,
      phone: delivery.phone,
      address: delivery.address,
      shipment: delivery.tracking_number ? `${delivery.carrier} ${delivery.tracking_number}` : '',
    },
  }
}

// A fresh object each time: setData's path updates ('form.phone') must never reach a shared one.
function emptyForm() {
  return { recipient: '', phone: '', address: '' }
}

Component({
  data: { prizes: [], empty: false, error: '', notice: '', editing: 0, form: emptyForm(), submitting: false },
  methods: {
    async onLoad() {
      await this.load()
    },
    async load() {
      try {
        const { prizes } = await request({ path: '/api/v1/me/prizes' })
        this.setData({ prizes: prizes.map(view), empty: prizes.length === 0 })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    editAddress(event) {
      this.setData({ editing: Number(event.currentTarget.dataset.draw), form: emptyForm(), error: '', notice: '' })
    },
    onInput(event) {
      // The address is one line: a line break typed into the textarea becomes a space.
      const value = String(event.detail.value).replace(/[\r\n]+/g, ' ')
      this.setData({ [`form.${event.currentTarget.dataset.field}`]: value })
    },
    async submitAddress() {
      if (this.data.submitting || !this.data.editing) return
      this.setData({ submitting: true, error: '', notice: '' })
      try {
        await request({
          path: `/api/v1/me/prizes/${this.data.editing}/address`,
          method: 'POST',
          data: this.data.form,
        })
        this.setData({ editing: 0, form: emptyForm() })
        await this.load()
        this.setData({ notice: '收货地址已提交，奖品发出后可在此查看物流单号' })
      } catch (error) {
        const message = (error.code === 'invalid_address' && FIELD_MESSAGES[error.field]) || error.message
        this.setData({ error: message })
        // Submitted meanwhile (another device, a stale page): show where it stands.
        if (error.code === 'address_already_submitted') {
          this.setData({ editing: 0 })
          await this.load()
        }
      } finally {
        this.setData({ submitting: false })
      }
    },
  },
})
