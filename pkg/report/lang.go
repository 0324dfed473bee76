package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DefaultLang is the report's language when none is asked: Japanese for
// an office in Japan's zone, else English.
func DefaultLang(loc *time.Location) string {
	if loc != nil && loc.String() == "Asia/Tokyo" {
		return "ja"
	}
	return "en"
}

// messages are the report's words, by language and key.
var messages = map[string]map[string]string{
	"en": {
		"title":              "SaaS report",
		"generated":          "Generated %s from packet captures by SaaSLens",
		"partial":            "The captures cover %s of this month: counts are of the captured part only.",
		"summary":            "Summary",
		"vendors used":       "SaaS vendors used",
		"active devices":     "Active devices",
		"active users":       "Active users",
		"bytes":              "Bytes",
		"traffic":            "Traffic to SaaS",
		"coverage":           "Captured share of the month",
		"mom":                "Month over month",
		"mom lead":           "SaaS use per vendor, %s against %s, largest movers first.",
		"vendor":             "Vendor",
		"devices":            "Devices",
		"users":              "Users",
		"last month":         "Last month",
		"this month":         "This month",
		"change":             "Change",
		"new vendors":        "New this month",
		"gone vendors":       "Not used any more",
		"none":               "None",
		"licences":           "Licences",
		"licences lead":      "Seats against the devices (and users) that used each contract this month.",
		"product":            "Product",
		"seats":              "Seats",
		"utilisation":        "Use",
		"unused":             "Unused seats",
		"monthly cost":       "Monthly cost",
		"cost per user":      "Cost per active user",
		"cost per device":    "Cost per active device",
		"renewal":            "Renewal",
		"cancel":             "Cancellation candidate: no use in the last 30 days",
		"renewal due":        "Renews within 60 days",
		"all seats":          "every seat used",
		"no contracts":       "No contracts are on file: name them in the datasource's contracts file.",
		"shadow":             "Shadow IT",
		"shadow lead":        "Services in use that no contract covers, and names no catalog knows yet (unclassified), most devices first.",
		"category":           "Category",
		"departments":        "Departments",
		"department":         "Department",
		"department vendors": "Vendors",
		"new":                "new",
		"unclassified":       "unclassified",
		"month end":          "Month-end response",
		"month end lead":     "p95 TLS handshake per vendor and day of the month; the last three days are marked. Vendors whose month end was at least 20% slower than the rest of the month are named.",
		"slower":             "Slower at month end",
		"slower by":          "%s: %s at month end against %s the rest of the month (+%s)",
		"no slowdown":        "No vendor was slower at month end.",
		"server rtt":         "p95 server round trip",
		"tls":                "p95 TLS handshake",
		"abroad":             "Servers abroad",
		"abroad lead":        "Traffic to servers outside %s, per vendor and country.",
		"no home":            "No home country is set: set the datasource's homeCountry to see this section.",
		"country":            "Country",
		"streams":            "Streams",
		"servers":            "Servers",
		"per department":     "Per department",
		"department lead":    "The vendors each department used, with their active %s.",
		"no department":      "(no department)",
		"day":                "Day",
		"users or devices":   "users",
		"devices word":       "devices",
	},
	"ja": {
		"title":              "SaaS 利用レポート",
		"generated":          "%s に SaaSLens がパケットキャプチャから作成",
		"partial":            "今月のキャプチャは %s のみです。数値はキャプチャされた期間のものです。",
		"summary":            "概要",
		"vendors used":       "利用 SaaS ベンダー数",
		"active devices":     "利用端末数",
		"active users":       "利用ユーザー数",
		"bytes":              "通信量",
		"traffic":            "SaaS への通信量",
		"coverage":           "キャプチャ済みの割合",
		"mom":                "前月比",
		"mom lead":           "ベンダー別の SaaS 利用 (%s と %s の比較、変化の大きい順)。",
		"vendor":             "ベンダー",
		"devices":            "端末",
		"users":              "ユーザー",
		"last month":         "前月",
		"this month":         "今月",
		"change":             "増減",
		"new vendors":        "今月から利用",
		"gone vendors":       "利用停止",
		"none":               "なし",
		"licences":           "ライセンス",
		"licences lead":      "契約ごとのシート数と、今月利用した端末 (とユーザー) の数。",
		"product":            "製品",
		"seats":              "シート",
		"utilisation":        "利用率",
		"unused":             "未使用シート",
		"monthly cost":       "月額",
		"cost per user":      "利用ユーザーあたり",
		"cost per device":    "利用端末あたり",
		"renewal":            "更新日",
		"cancel":             "解約候補: 直近 30 日間の利用なし",
		"renewal due":        "60 日以内に更新",
		"all seats":          "全席利用",
		"no contracts":       "契約が登録されていません。データソースの契約ファイルに記載してください。",
		"shadow":             "シャドー IT",
		"shadow lead":        "契約のないサービスと、まだどのカタログにもない名前 (未分類)。端末数の多い順。",
		"category":           "カテゴリ",
		"departments":        "部署",
		"department":         "部署",
		"department vendors": "利用ベンダー",
		"new":                "新規",
		"unclassified":       "未分類",
		"month end":          "月末の応答",
		"month end lead":     "ベンダー別・日別の TLS ハンドシェイク p95。月末 3 日間に印を付けています。月末が月の他の日より 20% 以上遅かったベンダーを挙げます。",
		"slower":             "月末に遅くなったベンダー",
		"slower by":          "%s: 月末 %s、他の日 %s (+%s)",
		"no slowdown":        "月末に遅くなったベンダーはありません。",
		"server rtt":         "サーバー往復時間 p95",
		"tls":                "TLS ハンドシェイク p95",
		"abroad":             "国外のサーバー",
		"abroad lead":        "%s 以外の国のサーバーへの通信 (ベンダー・国別)。",
		"no home":            "国が設定されていません。データソースの homeCountry を設定してください。",
		"country":            "国",
		"streams":            "接続数",
		"servers":            "サーバー数",
		"per department":     "部署別",
		"department lead":    "部署ごとに利用したベンダーと利用%s数。",
		"no department":      "(部署なし)",
		"day":                "日",
		"users or devices":   "ユーザー",
		"devices word":       "端末",
	},
}

// words formats the report's text in one language.
type words struct{ lang string }

func (w words) t(key string, args ...any) string {
	m := messages[w.lang][key]
	if m == "" {
		m = messages["en"][key]
	}
	if len(args) == 0 {
		return m
	}
	return fmt.Sprintf(m, args...)
}

// month names a month: "March 2026", "2026年3月".
func (w words) month(t time.Time) string {
	if w.lang == "ja" {
		return fmt.Sprintf("%d年%d月", t.Year(), int(t.Month()))
	}
	return t.Format("January 2006")
}

// date is a day: "31 March 2026", "2026年3月31日".
func (w words) date(t time.Time) string {
	if w.lang == "ja" {
		return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
	}
	return t.Format("2 January 2006")
}

// number groups thousands: 1,234,567 (both languages).
func (w words) number(n int64) string {
	s := strconv.FormatInt(abs(n), 10)
	var b strings.Builder
	if n < 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// decimal writes f with d digits after the point, thousands grouped.
func (w words) decimal(f float64, d int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	whole := math.Trunc(f)
	frac := strconv.FormatFloat(math.Abs(f-whole), 'f', d, 64)
	if strings.HasPrefix(frac, "1") { // rounded up to the next whole
		whole += math.Copysign(1, f)
		frac = strconv.FormatFloat(0, 'f', d, 64)
	}
	s := w.number(int64(whole))
	if f < 0 && whole == 0 {
		s = "-" + s
	}
	if d > 0 {
		s += frac[1:]
	}
	return s
}

// percent is "87%" (or "87.5%" below 10).
func (w words) percent(f float64) string {
	if f < 10 && f > -10 && f != math.Trunc(f) {
		return w.decimal(f, 1) + "%"
	}
	return w.decimal(f, 0) + "%"
}

// money is an amount in its currency as the contracts give it: "720 USD",
// "28,800 JPY"; cents for currencies that have them.
func (w words) money(f float64, currency string) string {
	digits := 2
	if currency == "JPY" || currency == "KRW" || f >= 1000 {
		digits = 0
	}
	return w.decimal(f, digits) + " " + currency
}

// change is a signed percentage: "+94%", "-12%".
func (w words) change(f float64) string {
	if f > 0 {
		return "+" + w.percent(f)
	}
	return w.percent(f)
}

// bytes is a size in decimal units: "1.2 GB".
func (w words) bytes(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	u := 0
	for math.Abs(f) >= 1000 && u < len(units)-1 {
		f /= 1000
		u++
	}
	if u == 0 {
		return w.number(n) + " B"
	}
	return w.decimal(f, 1) + " " + units[u]
}

// ms is a duration in milliseconds: "112 ms".
func (w words) ms(f float64) string {
	return w.decimal(f, 0) + " ms"
}
