#include "consumers/workload.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "consumers/codec.h"
#include "engine/status_macros.h"

// Design note. Everything random comes from one xoshiro256** stream drawn in
// a fixed order, and every per-lead attribute (name, company, device) is a
// hash of (seed, lead index), so the stream is a pure function of the
// options and per-lead state is 4 bytes. Real numbers only go through
// + - * / and the exact frexp/ldexp/floor: Log() and Exp() below replace the
// libm functions, whose last bits differ between libm versions and would
// change a millisecond here and a Zipf draw there.

namespace leadlog {
namespace {

using google::protobuf::Struct;

// ---------------------------------------------------------------------------
// Deterministic randomness and arithmetic.

// splitmix64's finalizer: a bijection on uint64, used to derive ids.
uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// xoshiro256** (Blackman and Vigna), seeded through splitmix64.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      s = Mix64(seed);
    }
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n), n >= 1 (multiply-shift; bias below 2^-32 * n).
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(((Next() >> 32) * n) >> 32); }
  // Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint32_t>(hi - lo + 1)));
  }
  // Uniform in [0, 1) with 53 random bits.
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Percent(uint32_t percent) { return Below(100) < percent; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

constexpr double kLn2 = 0.69314718055994530942;
// ln 2 split so that k * kLn2Hi is exact for |k| < 2^20 (fdlibm's constants).
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;

// Natural logarithm, relative error ~1e-16, from IEEE arithmetic only.
double Log(double x) {
  if (x == 0) return -HUGE_VAL;
  if (!(x > 0) || std::isinf(x)) return x > 0 ? x : std::nan("");
  int e = 0;
  double m = std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2;
    --e;
  }
  // log(m) = 2 atanh(f) = 2 (f + f^3/3 + f^5/5 + ...), |f| <= 0.172.
  const double f = (m - 1) / (m + 1);
  const double f2 = f * f;
  double sum = 0;
  for (int k = 23; k >= 1; k -= 2) sum = sum * f2 + 1.0 / k;
  return 2 * f * sum + e * kLn2;
}

// e^x, relative error ~1e-16, from IEEE arithmetic only.
double Exp(double x) {
  if (std::isnan(x)) return x;
  if (x > 709.0) return HUGE_VAL;
  if (x < -745.0) return 0;
  const double k = std::floor(x / kLn2 + 0.5);
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;  // |r| <= 0.35
  double sum = 1;
  for (int n = 18; n >= 1; --n) sum = 1 + sum * r / n;
  return std::ldexp(sum, static_cast<int>(k));
}

// Zipf(s) over ranks [1, n] by rejection-inversion (Hörmann and Derflinger,
// "Rejection-inversion to generate variates from monotone discrete
// distributions", 1996; the formulation of Apache Commons RNG). O(1) expected
// work per draw (measured: at most 1.014 attempts for s in [0.001, 10]) and
// no table, so 10 M leads cost nothing.
class ZipfSampler {
 public:
  ZipfSampler(uint32_t n, double s) : n_(n), s_(s) {
    h_integral_x1_ = HIntegral(1.5) - 1;
    h_integral_n_ = HIntegral(n + 0.5);
    threshold_ = 2 - HIntegralInverse(HIntegral(2.5) - H(2));
  }
  // A rank in [1, n]; rank k with probability k^-s / sum_j j^-s.
  uint32_t Sample(Rng& rng) const {
    while (true) {
      const double u = h_integral_n_ + rng.Unit() * (h_integral_x1_ - h_integral_n_);
      const double x = HIntegralInverse(u);
      if (std::isnan(x)) continue;
      const double k = std::clamp(std::floor(x + 0.5), 1.0, static_cast<double>(n_));
      if (k - x <= threshold_ || u >= HIntegral(k + 0.5) - H(k)) return static_cast<uint32_t>(k);
    }
  }

 private:
  // log(1 + x) / x and (e^x - 1) / x, accurate near 0 where s is near 1.
  static double Log1pOverX(double x) {
    if (std::fabs(x) < 1e-3) return 1 - x * (0.5 - x * (1.0 / 3 - x * (0.25 - x * (0.2 - x / 6))));
    return Log(1 + x) / x;
  }
  static double Expm1OverX(double x) {
    if (std::fabs(x) < 1e-3) return 1 + x * (0.5 + x * (1.0 / 6 + x * (1.0 / 24 + x / 120)));
    return (Exp(x) - 1) / x;
  }
  // H is an integral of h(x) = x^-s; HIntegralInverse its inverse.
  double HIntegral(double x) const {
    const double log_x = Log(x);
    return Expm1OverX((1 - s_) * log_x) * log_x;
  }
  double H(double x) const { return Exp(-s_ * Log(x)); }
  double HIntegralInverse(double x) const {
    double t = x * (1 - s_);
    if (t < -1) t = -1;
    return Exp(Log1pOverX(t) * x);
  }

  uint32_t n_;
  double s_;
  double h_integral_x1_ = 0;
  double h_integral_n_ = 0;
  double threshold_ = 0;
};

// ---------------------------------------------------------------------------
// Simulated time: a Poisson process in "activity time", mapped to wall time
// through a weekly profile, so that busy hours get more events.

constexpr int64_t kHourMs = 3'600'000;
constexpr int kHoursPerWeek = 7 * 24;
constexpr int64_t kWeekMs = kHoursPerWeek * kHourMs;
constexpr int64_t kMondayEpochMs = 4 * 24 * kHourMs;  // 1970-01-05T00:00:00Z

// Relative traffic per UTC hour: Europe's working day, then the Americas'.
constexpr std::array<int, 24> kWeekdayWeights = {2, 2,  2,  2,  2,  2, 3, 5, 7, 9, 9, 9,
                                                 9, 12, 12, 12, 12, 9, 9, 9, 8, 6, 4, 3};
constexpr std::array<int, 24> kWeekendWeights = {2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3,
                                                 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2};

int HourWeight(int hour_of_week) {
  const int day = hour_of_week / 24;  // 0 = Monday
  return day < 5 ? kWeekdayWeights[hour_of_week % 24] : kWeekendWeights[hour_of_week % 24];
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

class TrafficClock {
 public:
  TrafficClock(int64_t start_ms, int64_t duration_ms, uint64_t events) {
    for (int h = 0; h < kHoursPerWeek; ++h) cumulative_[h + 1] = cumulative_[h] + HourWeight(h);
    const int64_t total = cumulative_[kHoursPerWeek];
    week_units_ = static_cast<double>(total) * kHourMs;
    // One activity unit is one ms of an hour of weight 1.
    mean_gap_units_ = static_cast<double>(duration_ms) * (static_cast<double>(total) / kHoursPerWeek) /
                      static_cast<double>(events);
    anchor_ms_ = kMondayEpochMs + FloorDiv(start_ms - kMondayEpochMs, kWeekMs) * kWeekMs;
    const int64_t into_week = start_ms - anchor_ms_;
    const int hour = static_cast<int>(into_week / kHourMs);
    activity_ = static_cast<double>(cumulative_[hour]) * kHourMs +
                static_cast<double>(HourWeight(hour)) * static_cast<double>(into_week % kHourMs);
  }

  // Moves on by an exponentially distributed gap; returns the wall time.
  int64_t Advance(Rng& rng) {
    activity_ += mean_gap_units_ * -Log(1 - rng.Unit());
    return WallMs();
  }

 private:
  int64_t WallMs() const {
    const double weeks = std::floor(activity_ / week_units_);
    const double in_week = activity_ - weeks * week_units_;
    const double hours = in_week / kHourMs;
    int hour = static_cast<int>(std::upper_bound(cumulative_.begin() + 1, cumulative_.end(),
                                                 static_cast<int64_t>(std::floor(hours))) -
                                (cumulative_.begin() + 1));
    hour = std::min(hour, kHoursPerWeek - 1);
    const double within = (in_week - static_cast<double>(cumulative_[hour]) * kHourMs) / HourWeight(hour);
    const int64_t within_ms = std::clamp<int64_t>(static_cast<int64_t>(std::floor(within)), 0, kHourMs - 1);
    return anchor_ms_ + static_cast<int64_t>(weeks) * kWeekMs + hour * kHourMs + within_ms;
  }

  std::array<int64_t, kHoursPerWeek + 1> cumulative_{};  // weight before each hour
  double week_units_ = 0;
  double mean_gap_units_ = 0;
  int64_t anchor_ms_ = 0;  // the Monday 00:00 UTC at or before the start
  double activity_ = 0;    // units since anchor_ms_
};

// ---------------------------------------------------------------------------
// What the simulated company publishes and who its visitors are.

constexpr absl::string_view kSite = "https://www.example.com";
constexpr absl::string_view kLibraryName = "leadlog-demo";
constexpr absl::string_view kLibraryVersion = "1.0.0";

struct PageSpec {
  absl::string_view path;
  absl::string_view title;
};

// A site section: page name and category, pages, and its weight for
// anonymous, known and engaged visitors.
struct Section {
  absl::string_view name;
  absl::string_view category;
  const PageSpec* pages;
  size_t page_count;
  std::array<int, 3> weights;
};

constexpr PageSpec kHomePages[] = {{"/", "Example Cloud | B2B marketing automation"}};
constexpr PageSpec kBlogPages[] = {
    {"/blog/lead-scoring-101", "Lead Scoring 101: A Practical Guide"},
    {"/blog/mql-vs-sql", "MQL vs SQL: Where Marketing Hands Off"},
    {"/blog/b2b-attribution-models", "B2B Attribution Models Compared"},
    {"/blog/nurture-flows-that-convert", "Nurture Flows That Actually Convert"},
    {"/blog/intent-data-guide", "The Buyer's Guide to Intent Data"},
    {"/blog/abm-playbook-2026", "An ABM Playbook for 2026"},
    {"/blog/sales-marketing-sla", "Writing a Sales and Marketing SLA"},
    {"/blog/reduce-lead-leakage", "Five Ways to Reduce Lead Leakage"}};
constexpr PageSpec kProductPages[] = {{"/product", "Product Overview | Example Cloud"},
                                      {"/product/scoring", "Lead Scoring | Example Cloud"},
                                      {"/product/nurture", "Nurture Flows | Example Cloud"},
                                      {"/product/routing", "Lead Routing | Example Cloud"},
                                      {"/product/integrations", "Integrations | Example Cloud"}};
constexpr PageSpec kPricingPages[] = {{"/pricing", "Pricing | Example Cloud"}};
constexpr PageSpec kCaseStudyPages[] = {
    {"/case-studies/blue-ridge-analytics", "Blue Ridge Analytics doubled SQLs"},
    {"/case-studies/harbor-logistics", "Harbor Logistics: 80% faster follow-up"},
    {"/case-studies/summit-health", "Summit Health: one funnel, six regions"},
    {"/case-studies/atlas-robotics", "Atlas Robotics scores 40k leads a day"}};
constexpr PageSpec kDocsPages[] = {{"/docs/getting-started", "Getting Started | Example Cloud Docs"},
                                   {"/docs/segment-integration", "Segment Integration | Example Cloud Docs"},
                                   {"/docs/scoring-rules", "Scoring Rules | Example Cloud Docs"},
                                   {"/docs/api-reference", "API Reference | Example Cloud Docs"}};
constexpr PageSpec kWebinarPages[] = {{"/webinars", "Upcoming Webinars | Example Cloud"}};
constexpr PageSpec kResourcePages[] = {
    {"/resources", "Resources | Example Cloud"},
    {"/resources/state-of-marketing-ops-2026", "The State of Marketing Ops 2026"},
    {"/resources/abm-playbook", "The Account-Based Marketing Playbook"}};
constexpr PageSpec kDemoPages[] = {{"/demo", "Request a Demo | Example Cloud"}};
constexpr PageSpec kCompanyPages[] = {{"/about", "About Us | Example Cloud"},
                                      {"/careers", "Careers | Example Cloud"}};

enum class Engagement : uint8_t { kAnonymous = 0, kKnown = 1, kEngaged = 2 };

constexpr std::array<Section, 10> kSections = {{
    {"Home", "", kHomePages, std::size(kHomePages), {18, 8, 5}},
    {"Blog", "Content", kBlogPages, std::size(kBlogPages), {35, 22, 12}},
    {"Product", "Product", kProductPages, std::size(kProductPages), {12, 16, 18}},
    {"Pricing", "Product", kPricingPages, std::size(kPricingPages), {6, 14, 22}},
    {"Case Study", "Content", kCaseStudyPages, std::size(kCaseStudyPages), {6, 10, 15}},
    {"Docs", "Product", kDocsPages, std::size(kDocsPages), {8, 14, 18}},
    {"Webinars", "Content", kWebinarPages, std::size(kWebinarPages), {4, 5, 4}},
    {"Resources", "Content", kResourcePages, std::size(kResourcePages), {6, 6, 3}},
    {"Request a Demo", "Product", kDemoPages, std::size(kDemoPages), {0, 2, 3}},
    {"Company", "Company", kCompanyPages, std::size(kCompanyPages), {5, 3, 0}},
}};

// clang-format off
constexpr absl::string_view kExternalReferrers[] = {
    "https://www.google.com/", "https://www.google.com/", "https://www.linkedin.com/",
    "https://www.bing.com/", "https://www.g2.com/", "https://news.ycombinator.com/", ""};
// clang-format on

struct Campaign {
  absl::string_view name, source, medium, term, content;
};
constexpr Campaign kAdCampaigns[] = {
    {"2026-q1-lead-scoring", "google", "cpc", "lead scoring software", "ad-variant-a"},
    {"2026-q1-lead-scoring", "google", "cpc", "marketing automation b2b", "ad-variant-b"},
    {"abm-enterprise-q1", "linkedin", "paid_social", "", "carousel-1"},
    {"state-of-marketing-ops-2026", "linkedin", "social", "", "report-teaser"},
    {"g2-category-page", "g2", "referral", "", ""},
    {"retargeting-pricing", "google", "display", "", "banner-300x250"}};

struct Content {
  absl::string_view id, type, title;
};
constexpr Content kContents[] = {
    {"wp-state-of-marketing-ops-2026", "whitepaper", "The State of Marketing Ops 2026"},
    {"wp-lead-scoring-benchmarks", "whitepaper", "Lead Scoring Benchmarks by Industry"},
    {"wp-event-sourced-martech", "whitepaper", "Event Sourcing for Marketing Systems"},
    {"ebook-abm-playbook", "ebook", "The Account-Based Marketing Playbook"},
    {"ebook-nurture-flows", "ebook", "Nurture Flows That Convert"},
    {"ebook-sla-handbook", "ebook", "The Sales and Marketing SLA Handbook"},
    {"cs-blue-ridge-analytics", "case_study", "Blue Ridge Analytics doubled SQLs"},
    {"cs-harbor-logistics", "case_study", "Harbor Logistics cut response time by 80%"},
    {"cs-summit-health", "case_study", "Summit Health: one funnel, six regions"}};

struct Webinar {
  absl::string_view id, title;
  int minutes;
};
constexpr Webinar kWebinars[] = {
    {"webinar-2026-01-scoring-masterclass", "Lead Scoring Masterclass", 60},
    {"webinar-2026-01-abm-roundtable", "ABM Roundtable: Lessons from 2025", 45},
    {"webinar-2026-02-revops-metrics", "RevOps Metrics That Matter", 40},
    {"webinar-2026-02-intent-signals", "Turning Intent Signals into Pipeline", 50}};

struct EmailCampaign {
  absl::string_view id;
  std::array<absl::string_view, 3> subjects;
};
constexpr EmailCampaign kEmailCampaigns[] = {
    {"cmp-welcome-nurture",
     {"Welcome to Example Cloud", "3 ways to score leads today", "Your guide to a clean MQL hand-off"}},
    {"cmp-webinar-invites",
     {"You're invited: Lead Scoring Masterclass", "Last seats: ABM Roundtable", "Recording inside"}},
    {"cmp-product-updates",
     {"What's new in January", "New: routing rules by territory", "Faster Segment sync"}},
    {"cmp-abm-enterprise", {"A playbook for your team", "How Summit Health runs ABM", "Can we help?"}}};

enum FormType : uint8_t { kFormContent, kFormWebinar, kFormDemo, kFormContact, kFormNewsletter };
constexpr absl::string_view kFormTypes[] = {"content_download", "webinar_registration", "demo_request",
                                            "contact_us", "newsletter"};
constexpr absl::string_view kFormIds[] = {"form-gated-content", "form-webinar-registration",
                                          "form-demo-request", "form-contact-us", "form-newsletter"};
constexpr absl::string_view kFormPaths[] = {"/resources", "/webinars", "/demo", "/contact", "/"};

constexpr absl::string_view kFirstNames[] = {
    "James",  "Mary",  "Robert",  "Patricia", "John",   "Jennifer", "Michael", "Linda",
    "David",  "Sarah", "William", "Barbara",  "Daniel", "Susan",    "Joseph",  "Jessica",
    "Thomas", "Karen", "Priya",   "Arjun",    "Wei",    "Mei",      "Hiroshi", "Yuki",
    "Lukas",  "Anna",  "Sophie",  "Lars",     "Ingrid", "Mateo",    "Lucia",   "Olivia",
    "Noah",   "Emma",  "Liam",    "Chloe",    "Pierre", "Camille",  "Omar",    "Fatima"};
constexpr absl::string_view kLastNames[] = {
    "Smith",     "Johnson",  "Williams",  "Brown",    "Jones",  "Garcia", "Miller",  "Davis",
    "Rodriguez", "Martinez", "Wilson",    "Anderson", "Taylor", "Moore",  "Jackson", "Martin",
    "Lee",       "Thompson", "White",     "Harris",   "Clark",  "Lewis",  "Walker",  "Young",
    "King",      "Wright",   "Patel",     "Shah",     "Chen",   "Wang",   "Tanaka",  "Sato",
    "Muller",    "Schmidt",  "Johansson", "Dubois",   "Rossi",  "Silva",  "Haddad",  "Novak"};
// clang-format off
constexpr absl::string_view kTitles[] = {
    "Chief Marketing Officer", "VP of Marketing", "VP of Sales", "VP of Engineering", "Head of Growth",
    "Director of Demand Generation", "Director of Marketing Operations", "Director of Engineering",
    "Marketing Operations Manager", "Demand Generation Manager", "Product Marketing Manager",
    "Sales Development Manager", "Senior Software Engineer", "Software Engineer", "Data Engineer",
    "Marketing Analyst", "Sales Development Representative", "Account Executive", "CTO", "CEO"};
// clang-format on

constexpr absl::string_view kCompanyPrefixes[] = {
    "Blue",    "North", "Bright",  "Summit",    "Silver", "Iron",   "Cedar", "Harbor",  "Quantum", "Vertex",
    "Crimson", "Atlas", "Pioneer", "Evergreen", "Lumen",  "Nimbus", "Orbit", "Granite", "Apex",    "Beacon"};
constexpr absl::string_view kCompanyCores[] = {"Ridge", "Wave",  "Stone", "Field", "Bridge", "Peak",
                                               "Forge", "Point", "Path",  "Light", "Works",  "Labs"};
struct CompanyKind {
  absl::string_view suffix, industry;
};
constexpr CompanyKind kCompanyKinds[] = {
    {"Analytics", "Software"},         {"Systems", "Information Technology"},
    {"Software", "Software"},          {"Logistics", "Transportation"},
    {"Health", "Healthcare"},          {"Capital", "Financial Services"},
    {"Robotics", "Manufacturing"},     {"Networks", "Telecommunications"},
    {"Foods", "Food and Beverage"},    {"Energy", "Energy"},
    {"Security", "Computer Security"}, {"Media", "Media"}};
// Company sizes: employees in [base, 2 * base).
constexpr int kEmployeeBases[] = {12, 12, 40, 40, 150, 150, 600, 2500, 10000};

struct Location {
  absl::string_view country, timezone, locale;
};
// Repeated entries weight the draw towards where B2B buyers are.
constexpr Location kLocations[] = {
    {"US", "America/New_York", "en-US"},    {"US", "America/New_York", "en-US"},
    {"US", "America/New_York", "en-US"},    {"US", "America/Chicago", "en-US"},
    {"US", "America/Chicago", "en-US"},     {"US", "America/Los_Angeles", "en-US"},
    {"US", "America/Los_Angeles", "en-US"}, {"US", "America/Denver", "en-US"},
    {"CA", "America/Toronto", "en-CA"},     {"GB", "Europe/London", "en-GB"},
    {"GB", "Europe/London", "en-GB"},       {"DE", "Europe/Berlin", "de-DE"},
    {"DE", "Europe/Berlin", "de-DE"},       {"FR", "Europe/Paris", "fr-FR"},
    {"NL", "Europe/Amsterdam", "nl-NL"},    {"SE", "Europe/Stockholm", "sv-SE"},
    {"ES", "Europe/Madrid", "es-ES"},       {"IN", "Asia/Kolkata", "en-IN"},
    {"SG", "Asia/Singapore", "en-SG"},      {"JP", "Asia/Tokyo", "ja-JP"},
    {"AU", "Australia/Sydney", "en-AU"},    {"BR", "America/Sao_Paulo", "pt-BR"}};

constexpr absl::string_view kUserAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.2 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"};

constexpr absl::string_view kRejectReasons[] = {"bad_timing", "not_icp", "no_response", "wrong_person"};
constexpr absl::string_view kDisqualifyReasons[] = {"no_budget", "no_authority", "no_need", "competitor",
                                                    "duplicate"};
constexpr absl::string_view kLostReasons[] = {"price", "competitor", "no_decision", "timing",
                                              "missing_features"};
constexpr absl::string_view kContactChannels[] = {"call", "email", "email", "meeting", "linkedin"};
constexpr absl::string_view kChangedFields[] = {"title", "phone", "lead_status", "company,industry",
                                                "email_opt_in"};
constexpr int kOwnerCount = 12;

template <typename T, size_t N>
const T& Pick(const T (&table)[N], uint64_t index) {
  return table[index % N];
}
template <typename T, size_t N>
const T& Pick(const T (&table)[N], Rng& rng) {
  return table[rng.Below(N)];
}

// ---------------------------------------------------------------------------
// Lead state and the journey model.

// Where sales has got with a lead. kLost, kRejected and kDisqualified may be
// recycled back to kAssigned (at most kRecyclesMax times); kWon is final.
enum class SalesStage : uint8_t {
  kNone,
  kAssigned,
  kAccepted,
  kContacted,
  kOpportunity,
  kWon,
  kLost,
  kRejected,
  kDisqualified
};

enum LeadFlag : uint8_t {
  kIdentified = 1 << 0,
  kGrouped = 1 << 1,
  kAliased = 1 << 2,
  kDemoRequested = 1 << 3,
  kWebinarPending = 1 << 4,  // registered for `webinar`, not attended yet
};
constexpr int kRecycleShift = 6;  // flags bits 6-7: times recycled to sales
constexpr int kRecyclesMax = 3;

struct LeadState {
  uint8_t flags = 0;
  SalesStage sales = SalesStage::kNone;
  uint8_t activity = 0;  // organic events so far, saturating at 255
  uint8_t webinar = 0;   // index into kWebinars while kWebinarPending
  bool Has(uint8_t flag) const { return (flags & flag) != 0; }
  int recycles() const { return flags >> kRecycleShift; }
};
static_assert(sizeof(LeadState) == 4, "1 M leads must stay at 4 MB");

// Organic events a known lead needs before it is engaged (more pricing,
// product and docs pages) and before sales works it (or a demo request).
constexpr int kEngagedActivity = 8;
constexpr int kSalesReadyActivity = 10;

// What a drawn lead does next (weights in ChooseAction).
enum Action : uint8_t {
  kPage,
  kForm,
  kContent,
  kEmailOpen,
  kEmailClick,
  kWebinarRegister,
  kWebinarAttend,
  kDemo,
  kReidentify,
  kRecordUpdated,
  kSalesStep,
  kActionCount
};

// Events that follow another one by seconds: identify after a form, ...
enum class FollowUpKind : uint8_t { kIdentify, kFormOutcome, kGroup, kAlias, kEmailLanding };
struct FollowUp {
  int64_t at_ms;
  uint64_t order;  // breaks ties in scheduling order
  uint32_t lead;
  FollowUpKind kind;
  uint8_t arg;  // kFormOutcome: FormType << 4 | item; kEmailLanding: campaign << 4 | link
};
// Heap order: the earliest follow-up on top.
bool Later(const FollowUp& a, const FollowUp& b) {
  return a.at_ms != b.at_ms ? a.at_ms > b.at_ms : a.order > b.order;
}
// Follow-ups waiting at once; beyond it the earliest is emitted at once, so
// memory stays bounded even when all organic events share one millisecond.
constexpr size_t kFollowUpsMax = 4096;

constexpr absl::string_view kEmailLinks[] = {
    "/blog/lead-scoring-101",      "/pricing",        "/webinars", "/resources/abm-playbook",
    "/case-studies/summit-health", "/product/scoring"};
static_assert(std::size(kContents) <= 16 && std::size(kWebinars) <= 16 && std::size(kEmailLinks) <= 16,
              "follow-up args pack an item index in 4 bits");

void SetString(Struct* s, const char* key, absl::string_view value) {
  (*s->mutable_fields())[key].set_string_value(std::string(value));
}
void SetNumber(Struct* s, const char* key, double value) {
  (*s->mutable_fields())[key].set_number_value(value);
}

void AppendHex(uint64_t value, int digits, bool upper, std::string* out) {
  const char* table = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out->push_back(table[(value >> (4 * i)) & 0xf]);
}

template <size_t N>
size_t PickWeighted(const std::array<int, N>& weights, Rng& rng) {
  int total = 0;
  for (int w : weights) total += w;
  int x = static_cast<int>(rng.Below(static_cast<uint32_t>(total)));
  for (size_t i = 0; i < N; ++i) {
    if (x < weights[i]) return i;
    x -= weights[i];
  }
  return N - 1;
}

std::string UserId(uint32_t lead) { return absl::StrCat("user-", uint64_t{lead} + 1); }

std::string AccountId(uint32_t company) { return absl::StrCat("acct-", uint64_t{company} + 1); }

// Salesforce-like ids: a prefix and 12 hex digits of an odd multiple of the
// value mod 2^48, a bijection, so distinct values give distinct ids.
std::string CrmId(absl::string_view prefix, uint64_t value, uint64_t key) {
  std::string id(prefix.data(), prefix.size());
  AppendHex((value * 0x9e3779b97f4bULL + key) & ((uint64_t{1} << 48) - 1), 12, true, &id);
  return id;
}

// A company (account) derived from its index: distinct names for distinct
// indexes; 2880 names, then numbered.
struct Company {
  std::string name, domain;
  absl::string_view industry;
  int employees;
  const Location* location;
};

const Location& CompanyLocation(uint32_t index, uint64_t key) {
  return Pick(kLocations, Mix64(index ^ key) >> 32);
}

Company CompanyOf(uint32_t index, uint64_t key) {
  constexpr uint32_t kNames =
      std::size(kCompanyPrefixes) * std::size(kCompanyCores) * std::size(kCompanyKinds);
  static_assert(kNames == 2880 && std::gcd(1777u, kNames) == 1);
  const uint32_t p = static_cast<uint32_t>((uint64_t{index} * 1777) % kNames);
  const uint32_t cycle = index / kNames;
  const absl::string_view prefix = kCompanyPrefixes[p % std::size(kCompanyPrefixes)];
  const absl::string_view core = kCompanyCores[(p / std::size(kCompanyPrefixes)) % std::size(kCompanyCores)];
  const CompanyKind& kind = kCompanyKinds[p / (std::size(kCompanyPrefixes) * std::size(kCompanyCores))];
  const uint64_t h = Mix64(index ^ key);
  Company c;
  c.location = &CompanyLocation(index, key);
  c.name = absl::StrCat(prefix, absl::AsciiStrToLower(core), " ", kind.suffix);
  c.domain = absl::AsciiStrToLower(absl::StrCat(prefix, core, kind.suffix));
  if (cycle > 0) {
    absl::StrAppend(&c.name, " ", cycle + 1);
    absl::StrAppend(&c.domain, cycle + 1);
  }
  c.domain += ".com";
  c.industry = kind.industry;
  const int base = Pick(kEmployeeBases, h);
  c.employees = base + static_cast<int>((h >> 16) % static_cast<uint64_t>(base));
  return c;
}

const Section* FindSection(absl::string_view path, const PageSpec** page) {
  for (const Section& section : kSections) {
    for (size_t i = 0; i < section.page_count; ++i) {
      if (section.pages[i].path == path) {
        *page = &section.pages[i];
        return &section;
      }
    }
  }
  return nullptr;
}

}  // namespace

// ---------------------------------------------------------------------------

class Workload::Impl {
 public:
  explicit Impl(const WorkloadOptions& options);
  bool Next(v1::Event* e);
  uint64_t produced() const { return produced_; }
  const WorkloadOptions& options() const { return options_; }

 private:
  void EmitOrganic(int64_t at_ms, v1::Event* e);
  Action ChooseAction(const LeadState& st);
  int SalesStepWeight(const LeadState& st) const;
  void EmitFollowUp(const FollowUp& f, int64_t at_ms, v1::Event* e);
  void Schedule(uint32_t lead, FollowUpKind kind, uint8_t arg, int64_t at_ms);

  void Begin(uint32_t lead, v1::CallType type, absl::string_view name, int64_t at_ms, bool browser,
             v1::Event* e);
  void EmitPage(uint32_t lead, const Section& section, const PageSpec& page, absl::string_view referrer,
                const Campaign* campaign, int64_t at_ms, v1::Event* e);
  void EmitOrganicPage(uint32_t lead, int64_t at_ms, v1::Event* e);
  void EmitEmailLanding(uint32_t lead, uint8_t arg, int64_t at_ms, v1::Event* e);
  void EmitForm(uint32_t lead, FormType type, int64_t at_ms, v1::Event* e);
  void EmitFormOutcome(uint32_t lead, uint8_t arg, int64_t at_ms, v1::Event* e);
  void EmitContent(uint32_t lead, const Content& content, int64_t at_ms, v1::Event* e);
  void EmitEmail(uint32_t lead, bool click, int64_t at_ms, v1::Event* e);
  void EmitWebinarRegistered(uint32_t lead, uint32_t webinar, int64_t at_ms, v1::Event* e);
  void EmitWebinarAttended(uint32_t lead, int64_t at_ms, v1::Event* e);
  void EmitDemoRequested(uint32_t lead, int64_t at_ms, v1::Event* e);
  void EmitIdentify(uint32_t lead, int64_t at_ms, v1::Event* e);
  void EmitGroup(uint32_t lead, int64_t at_ms, v1::Event* e);
  void EmitAlias(uint32_t lead, int64_t at_ms, v1::Event* e);
  void EmitSalesStep(uint32_t lead, int64_t at_ms, v1::Event* e);
  void EmitSalesFact(uint32_t lead, v1::SalesFactKind kind, int64_t at_ms, v1::Event* e);
  void SetOpportunity(uint32_t lead, v1::Event* e) const;

  Engagement EngagementOf(const LeadState& st) const;
  uint32_t LeadOfRank(uint32_t rank) const;
  uint64_t PersonHash(uint32_t lead) const { return Mix64(lead ^ person_key_); }
  uint32_t CompanyIndex(uint32_t lead) const;
  std::string MessageId(uint64_t index) const;
  std::string AnonymousId(uint32_t lead) const;
  std::string OwnerId(uint32_t lead, int recycles) const;

  const WorkloadOptions options_;
  const uint64_t person_key_;
  const uint64_t company_key_;
  const uint64_t id_key_;
  Rng rng_;
  ZipfSampler zipf_;
  TrafficClock clock_;
  uint64_t rank_multiplier_ = 1;  // coprime with leads
  uint64_t rank_offset_ = 0;
  uint32_t companies_;
  std::vector<LeadState> leads_;
  std::vector<FollowUp> follow_ups_;  // a heap ordered by Later
  uint64_t follow_up_order_ = 0;
  int64_t next_organic_ms_;
  int64_t last_ms_;
  uint64_t produced_ = 0;
};

Workload::Impl::Impl(const WorkloadOptions& options)
    : options_(options),
      person_key_(Mix64(options.seed ^ 0x7065'7273'6f6eULL)),
      company_key_(Mix64(options.seed ^ 0x636f'6d70'616eULL)),
      id_key_(Mix64(options.seed ^ 0x6964'6b65'7973ULL)),
      rng_(options.seed),
      zipf_(options.leads, options.zipf_s),
      clock_(options.start_time_ms, options.duration_ms, options.events),
      companies_(std::max<uint32_t>(1, (options.leads + 2) / 3)),
      leads_(options.leads),
      next_organic_ms_(options.start_time_ms),
      last_ms_(options.start_time_ms) {
  const uint64_t n = options.leads;
  rank_offset_ = Mix64(id_key_ + 1) % n;
  rank_multiplier_ = 1 + Mix64(id_key_ + 2) % n;
  while (std::gcd(rank_multiplier_, n) != 1) rank_multiplier_ = rank_multiplier_ % n + 1;
  follow_ups_.reserve(1024);
}

bool Workload::Impl::Next(v1::Event* e) {
  e->Clear();
  if (produced_ >= options_.events) return false;
  const bool follow_up_due = !follow_ups_.empty() && (follow_ups_.front().at_ms <= next_organic_ms_ ||
                                                      follow_ups_.size() >= kFollowUpsMax);
  if (follow_up_due) {
    std::pop_heap(follow_ups_.begin(), follow_ups_.end(), Later);
    const FollowUp f = follow_ups_.back();
    follow_ups_.pop_back();
    last_ms_ = std::max(last_ms_, f.at_ms);
    EmitFollowUp(f, last_ms_, e);
  } else {
    last_ms_ = std::max(last_ms_, next_organic_ms_);
    EmitOrganic(last_ms_, e);
  }
  // Every event, follow-ups included, moves the next organic event on by one
  // gap, so that `events` events span about duration_ms.
  next_organic_ms_ = clock_.Advance(rng_);
  ++produced_;
  return true;
}

void Workload::Impl::Schedule(uint32_t lead, FollowUpKind kind, uint8_t arg, int64_t at_ms) {
  follow_ups_.push_back(FollowUp{at_ms, follow_up_order_++, lead, kind, arg});
  std::push_heap(follow_ups_.begin(), follow_ups_.end(), Later);
}

void Workload::Impl::EmitFollowUp(const FollowUp& f, int64_t at_ms, v1::Event* e) {
  switch (f.kind) {
    case FollowUpKind::kIdentify:
      return EmitIdentify(f.lead, at_ms, e);
    case FollowUpKind::kFormOutcome:
      return EmitFormOutcome(f.lead, f.arg, at_ms, e);
    case FollowUpKind::kGroup:
      return EmitGroup(f.lead, at_ms, e);
    case FollowUpKind::kAlias:
      return EmitAlias(f.lead, at_ms, e);
    case FollowUpKind::kEmailLanding:
      return EmitEmailLanding(f.lead, f.arg, at_ms, e);
  }
  LEADLOG_CHECK(false) << "unknown follow-up kind " << static_cast<int>(f.kind);
}

void Workload::Impl::EmitOrganic(int64_t at_ms, v1::Event* e) {
  const uint32_t lead = LeadOfRank(zipf_.Sample(rng_));
  LeadState& st = leads_[lead];
  const Action action = ChooseAction(st);
  switch (action) {
    case kPage:
      EmitOrganicPage(lead, at_ms, e);
      break;
    case kForm: {
      std::array<int, 5> weights = {50, 20, 7, 8, 15};  // indexed by FormType
      if (st.Has(kIdentified)) weights = {55, 25, 0, 10, 10};
      EmitForm(lead, static_cast<FormType>(PickWeighted(weights, rng_)), at_ms, e);
      break;
    }
    case kContent:
      EmitContent(lead, Pick(kContents, rng_), at_ms, e);
      break;
    case kEmailOpen:
    case kEmailClick:
      EmitEmail(lead, /*click=*/action == kEmailClick, at_ms, e);
      break;
    case kWebinarRegister:
      EmitWebinarRegistered(lead, rng_.Below(std::size(kWebinars)), at_ms, e);
      break;
    case kWebinarAttend:
      EmitWebinarAttended(lead, at_ms, e);
      break;
    case kDemo:
      EmitForm(lead, kFormDemo, at_ms, e);
      break;
    case kReidentify:
      EmitIdentify(lead, at_ms, e);
      break;
    case kRecordUpdated:
      EmitSalesFact(lead, v1::SALES_FACT_KIND_RECORD_UPDATED, at_ms, e);
      break;
    case kSalesStep:
      EmitSalesStep(lead, at_ms, e);
      break;
    case kActionCount:
      LEADLOG_CHECK(false) << "no action chosen";
  }
  if (st.activity < 255) ++st.activity;
}

int Workload::Impl::SalesStepWeight(const LeadState& st) const {
  switch (st.sales) {
    case SalesStage::kNone:
      return (st.activity >= kSalesReadyActivity || st.Has(kDemoRequested)) ? 14 : 0;
    case SalesStage::kAssigned:
    case SalesStage::kAccepted:
    case SalesStage::kContacted:
    case SalesStage::kOpportunity:
      return 14;
    case SalesStage::kWon:
      return 0;
    case SalesStage::kLost:
    case SalesStage::kRejected:
    case SalesStage::kDisqualified:
      return st.recycles() < kRecyclesMax ? 2 : 0;
  }
  return 0;
}

Action Workload::Impl::ChooseAction(const LeadState& st) {
  std::array<int, kActionCount> w{};
  if (!st.Has(kIdentified)) {
    if (st.activity == 0) return kPage;  // everyone arrives on a page
    w[kPage] = 78;
    w[kForm] = 16;
    w[kContent] = 6;
  } else {
    const bool pending = st.Has(kWebinarPending);
    w[kPage] = 40;
    w[kContent] = 8;
    w[kForm] = 4;
    w[kEmailOpen] = 16;
    w[kEmailClick] = 7;
    w[kWebinarRegister] = pending ? 0 : 3;
    w[kWebinarAttend] = pending ? 12 : 0;
    w[kDemo] = (!st.Has(kDemoRequested) && st.activity >= 4) ? 2 : 0;
    w[kReidentify] = 3;
    w[kRecordUpdated] = 2;
    w[kSalesStep] = SalesStepWeight(st);
  }
  return static_cast<Action>(PickWeighted(w, rng_));
}

// ---------------------------------------------------------------------------
// Ids and derived attributes.

uint32_t Workload::Impl::LeadOfRank(uint32_t rank) const {
  return static_cast<uint32_t>(((rank - 1) * rank_multiplier_ + rank_offset_) % options_.leads);
}

uint32_t Workload::Impl::CompanyIndex(uint32_t lead) const {
  return static_cast<uint32_t>(Mix64(lead ^ company_key_) % companies_);
}

Engagement Workload::Impl::EngagementOf(const LeadState& st) const {
  if (!st.Has(kIdentified)) return Engagement::kAnonymous;
  if (st.activity >= kEngagedActivity || st.Has(kDemoRequested)) return Engagement::kEngaged;
  return Engagement::kKnown;
}

// UUID-shaped (version 4 layout). `lo` is a bijection of the index, so ids
// are unique within a stream; the seed changes every id.
std::string Workload::Impl::MessageId(uint64_t index) const {
  const uint64_t lo = Mix64(index + id_key_);
  const uint64_t hi = Mix64(index ^ ~id_key_);
  std::string id;
  id.reserve(36);
  AppendHex(lo >> 32, 8, false, &id);
  id += '-';
  AppendHex(hi >> 48, 4, false, &id);
  id += "-4";
  AppendHex(hi >> 36, 3, false, &id);
  id += '-';
  AppendHex(0x8000 | ((hi >> 16) & 0x3fff), 4, false, &id);
  id += '-';
  AppendHex(hi, 4, false, &id);
  AppendHex(lo, 8, false, &id);
  return id;
}

std::string Workload::Impl::AnonymousId(uint32_t lead) const {
  std::string id = "anon-";
  AppendHex(Mix64(lead + id_key_ + 0x100000000ULL), 16, false, &id);  // a bijection of lead
  return id;
}

std::string Workload::Impl::OwnerId(uint32_t lead, int recycles) const {
  const uint64_t owner = (PersonHash(lead) + static_cast<uint64_t>(recycles) * 5) % kOwnerCount + 1;
  return absl::StrCat("owner-", owner < 10 ? "0" : "", owner);
}

// ---------------------------------------------------------------------------
// Event builders.

void Workload::Impl::Begin(uint32_t lead, v1::CallType type, absl::string_view name, int64_t at_ms,
                           bool browser, v1::Event* e) {
  e->set_event_id(MessageId(produced_));
  e->set_type(type);
  e->set_anonymous_id(AnonymousId(lead));
  if (leads_[lead].Has(kIdentified)) e->set_user_id(UserId(lead));
  if (!name.empty()) e->set_name(std::string(name));
  e->set_occurred_at_ms(at_ms);
  v1::Context* c = e->mutable_context();
  c->set_library_name(std::string(kLibraryName));
  c->set_library_version(std::string(kLibraryVersion));
  if (!browser) return;  // server-side sources (ESP, webinar platform, CRM)
  const uint64_t h = PersonHash(lead);
  const Location& where = CompanyLocation(CompanyIndex(lead), company_key_);
  // One office IP per lead: first octet in [24, 222], never 127.
  const uint64_t a = 24 + (h >> 40) % 199;
  c->set_ip(absl::StrCat(a == 127 ? 128 : a, ".", (h >> 48) & 0xff, ".", (h >> 56) & 0xff, ".",
                         1 + (h >> 32) % 254));
  c->set_user_agent(std::string(Pick(kUserAgents, h >> 20)));
  c->set_locale(std::string(where.locale));
  c->set_timezone(std::string(where.timezone));
}

void Workload::Impl::EmitPage(uint32_t lead, const Section& section, const PageSpec& page,
                              absl::string_view referrer, const Campaign* campaign, int64_t at_ms,
                              v1::Event* e) {
  Begin(lead, v1::CALL_TYPE_PAGE, section.name, at_ms, /*browser=*/true, e);
  if (!section.category.empty()) e->set_category(std::string(section.category));
  const std::string url = absl::StrCat(kSite, page.path);
  Struct* p = e->mutable_properties();
  SetString(p, "path", page.path);  // the rest is in context.page
  v1::Context* c = e->mutable_context();
  c->set_page_url(url);
  c->set_page_path(std::string(page.path));
  if (!referrer.empty()) c->set_page_referrer(std::string(referrer));
  if (campaign == nullptr) return;
  c->set_campaign_name(std::string(campaign->name));
  c->set_campaign_source(std::string(campaign->source));
  c->set_campaign_medium(std::string(campaign->medium));
  if (!campaign->term.empty()) c->set_campaign_term(std::string(campaign->term));
  if (!campaign->content.empty()) c->set_campaign_content(std::string(campaign->content));
}

void Workload::Impl::EmitOrganicPage(uint32_t lead, int64_t at_ms, v1::Event* e) {
  const LeadState& st = leads_[lead];
  const auto level = static_cast<size_t>(EngagementOf(st));
  std::array<int, kSections.size()> weights{};
  for (size_t i = 0; i < kSections.size(); ++i) weights[i] = kSections[i].weights[level];
  const Section& section = kSections[PickWeighted(weights, rng_)];
  const PageSpec& page = section.pages[rng_.Below(static_cast<uint32_t>(section.page_count))];
  const bool landing = st.activity == 0;
  const Campaign* campaign = nullptr;
  if (rng_.Percent(landing ? 35 : 4)) campaign = &Pick(kAdCampaigns, rng_);
  // A first visit comes from outside; later ones continue a session (an
  // internal referrer), start a new one from outside, or are direct.
  std::string referrer;
  const uint32_t roll = rng_.Below(100);
  if (landing || roll < 25) {
    referrer = std::string(Pick(kExternalReferrers, rng_));
  } else if (roll < 65) {
    const Section& from = kSections[rng_.Below(kSections.size())];
    referrer = absl::StrCat(kSite, from.pages[0].path);
  }
  EmitPage(lead, section, page, referrer, campaign, at_ms, e);
}

void Workload::Impl::EmitEmailLanding(uint32_t lead, uint8_t arg, int64_t at_ms, v1::Event* e) {
  const EmailCampaign& email = Pick(kEmailCampaigns, arg >> 4);
  const PageSpec* page = nullptr;
  const Section* section = FindSection(Pick(kEmailLinks, arg & 0xf), &page);
  LEADLOG_CHECK(section != nullptr) << "email link " << Pick(kEmailLinks, arg & 0xf) << " is no page";
  const Campaign campaign{email.id, "example-cloud", "email", "", "cta-button"};
  EmitPage(lead, *section, *page, "", &campaign, at_ms, e);
}

void Workload::Impl::EmitForm(uint32_t lead, FormType type, int64_t at_ms, v1::Event* e) {
  Begin(lead, v1::CALL_TYPE_TRACK, "Form Submitted", at_ms, /*browser=*/true, e);
  Struct* p = e->mutable_properties();
  SetString(p, "form_id", kFormIds[type]);
  SetString(p, "form_type", kFormTypes[type]);
  uint32_t item = 0;
  if (type == kFormContent) {
    item = rng_.Below(std::size(kContents));
    SetString(p, "content_id", kContents[item].id);
  } else if (type == kFormWebinar) {
    item = rng_.Below(std::size(kWebinars));
    SetString(p, "webinar_id", kWebinars[item].id);
  }
  v1::Context* c = e->mutable_context();
  c->set_page_path(std::string(kFormPaths[type]));
  c->set_page_url(absl::StrCat(kSite, kFormPaths[type]));
  // The form tells us who this is; known leads sometimes update their traits.
  if (!leads_[lead].Has(kIdentified) || rng_.Percent(25)) {
    Schedule(lead, FollowUpKind::kIdentify, 0, at_ms + rng_.Between(500, 1500));
  }
  if (type == kFormContent || type == kFormWebinar || type == kFormDemo) {
    Schedule(lead, FollowUpKind::kFormOutcome, static_cast<uint8_t>(type << 4 | item),
             at_ms + rng_.Between(2000, 8000));
  }
}

void Workload::Impl::EmitFormOutcome(uint32_t lead, uint8_t arg, int64_t at_ms, v1::Event* e) {
  const uint32_t item = arg & 0xf;
  switch (static_cast<FormType>(arg >> 4)) {
    case kFormContent:
      return EmitContent(lead, Pick(kContents, item), at_ms, e);
    case kFormWebinar:
      return EmitWebinarRegistered(lead, item, at_ms, e);
    case kFormDemo:
      return EmitDemoRequested(lead, at_ms, e);
    case kFormContact:
    case kFormNewsletter:
      break;
  }
  LEADLOG_CHECK(false) << "form type " << (arg >> 4) << " has no outcome";
}

void Workload::Impl::EmitContent(uint32_t lead, const Content& content, int64_t at_ms, v1::Event* e) {
  Begin(lead, v1::CALL_TYPE_TRACK, "Content Downloaded", at_ms, /*browser=*/true, e);
  Struct* p = e->mutable_properties();
  SetString(p, "content_id", content.id);
  SetString(p, "content_type", content.type);
  SetString(p, "content_title", content.title);
}

void Workload::Impl::EmitEmail(uint32_t lead, bool click, int64_t at_ms, v1::Event* e) {
  const uint32_t campaign = rng_.Below(std::size(kEmailCampaigns));
  const uint32_t step = rng_.Below(3);
  const EmailCampaign& email = kEmailCampaigns[campaign];
  Begin(lead, v1::CALL_TYPE_TRACK, click ? "Email Clicked" : "Email Opened", at_ms, /*browser=*/false, e);
  Struct* p = e->mutable_properties();
  SetString(p, "email_id", absl::StrCat(email.id, "-", step + 1));
  SetString(p, "campaign_id", email.id);
  SetString(p, "email_subject", email.subjects[step]);
  if (!click) return;
  const uint32_t link = rng_.Below(std::size(kEmailLinks));
  SetString(p, "link_url", absl::StrCat(kSite, kEmailLinks[link]));
  Schedule(lead, FollowUpKind::kEmailLanding, static_cast<uint8_t>(campaign << 4 | link),
           at_ms + rng_.Between(1000, 4000));
}

void Workload::Impl::EmitWebinarRegistered(uint32_t lead, uint32_t webinar, int64_t at_ms, v1::Event* e) {
  LeadState& st = leads_[lead];
  st.flags |= kWebinarPending;
  st.webinar = static_cast<uint8_t>(webinar);
  Begin(lead, v1::CALL_TYPE_TRACK, "Webinar Registered", at_ms, /*browser=*/true, e);
  Struct* p = e->mutable_properties();
  SetString(p, "webinar_id", kWebinars[webinar].id);
  SetString(p, "webinar_title", kWebinars[webinar].title);
}

void Workload::Impl::EmitWebinarAttended(uint32_t lead, int64_t at_ms, v1::Event* e) {
  LeadState& st = leads_[lead];
  st.flags &= static_cast<uint8_t>(~kWebinarPending);
  const Webinar& webinar = Pick(kWebinars, st.webinar);
  Begin(lead, v1::CALL_TYPE_TRACK, "Webinar Attended", at_ms, /*browser=*/false, e);
  Struct* p = e->mutable_properties();
  SetString(p, "webinar_id", webinar.id);
  SetString(p, "webinar_title", webinar.title);
  SetNumber(p, "minutes_watched", static_cast<double>(rng_.Between(5, webinar.minutes)));
}

void Workload::Impl::EmitDemoRequested(uint32_t lead, int64_t at_ms, v1::Event* e) {
  constexpr int kSeats[] = {5, 10, 25, 50, 100, 250};
  leads_[lead].flags |= kDemoRequested;
  Begin(lead, v1::CALL_TYPE_TRACK, "Demo Requested", at_ms, /*browser=*/true, e);
  Struct* p = e->mutable_properties();
  SetString(p, "source", "demo_form");
  SetString(p, "product", "Example Cloud");
  SetNumber(p, "seats", Pick(kSeats, rng_));
  e->mutable_context()->set_page_path("/demo");
}

void Workload::Impl::EmitIdentify(uint32_t lead, int64_t at_ms, v1::Event* e) {
  LeadState& st = leads_[lead];
  const bool first = !st.Has(kIdentified);
  st.flags |= kIdentified;
  Begin(lead, v1::CALL_TYPE_IDENTIFY, "", at_ms, /*browser=*/true, e);
  const uint64_t h = PersonHash(lead);
  const Company company = CompanyOf(CompanyIndex(lead), company_key_);
  const absl::string_view first_name = Pick(kFirstNames, h);
  const absl::string_view last_name = Pick(kLastNames, h >> 8);
  Struct* t = e->mutable_traits();
  SetString(
      t, "email",
      absl::StrCat(absl::AsciiStrToLower(absl::StrCat(first_name, ".", last_name)), "@", company.domain));
  SetString(t, "first_name", first_name);
  SetString(t, "last_name", last_name);
  SetString(t, "title", Pick(kTitles, h >> 16));
  SetString(t, "company", company.name);
  SetString(t, "industry", company.industry);
  SetNumber(t, "employees", company.employees);
  SetString(t, "country", company.location->country);
  SetString(t, "timezone", company.location->timezone);
  if (!first) return;
  if (!st.Has(kGrouped) && rng_.Percent(35)) {
    Schedule(lead, FollowUpKind::kGroup, 0, at_ms + rng_.Between(1000, 5000));
  }
  if (!st.Has(kAliased) && rng_.Percent(10)) {
    Schedule(lead, FollowUpKind::kAlias, 0, at_ms + rng_.Between(500, 2000));
  }
}

void Workload::Impl::EmitGroup(uint32_t lead, int64_t at_ms, v1::Event* e) {
  leads_[lead].flags |= kGrouped;
  Begin(lead, v1::CALL_TYPE_GROUP, "", at_ms, /*browser=*/true, e);
  const uint32_t index = CompanyIndex(lead);
  const Company company = CompanyOf(index, company_key_);
  e->set_group_id(AccountId(index));
  Struct* t = e->mutable_traits();
  SetString(t, "name", company.name);
  SetString(t, "industry", company.industry);
  SetNumber(t, "employees", company.employees);
  SetString(t, "website", absl::StrCat("https://www.", company.domain));
}

void Workload::Impl::EmitAlias(uint32_t lead, int64_t at_ms, v1::Event* e) {
  leads_[lead].flags |= kAliased;
  Begin(lead, v1::CALL_TYPE_ALIAS, "", at_ms, /*browser=*/true, e);
  e->set_previous_id(e->anonymous_id());
}

// ---------------------------------------------------------------------------
// Sales: the funnel, one step per draw.

void Workload::Impl::EmitSalesStep(uint32_t lead, int64_t at_ms, v1::Event* e) {
  LeadState& st = leads_[lead];
  v1::SalesFactKind kind = v1::SALES_FACT_KIND_OWNER_ASSIGNED;
  SalesStage next = SalesStage::kAssigned;
  const uint32_t roll = rng_.Below(100);
  switch (st.sales) {
    case SalesStage::kNone:
      break;
    case SalesStage::kAssigned:
      kind = roll < 75 ? v1::SALES_FACT_KIND_LEAD_ACCEPTED : v1::SALES_FACT_KIND_LEAD_REJECTED;
      next = roll < 75 ? SalesStage::kAccepted : SalesStage::kRejected;
      break;
    case SalesStage::kAccepted:
      kind = v1::SALES_FACT_KIND_LEAD_CONTACTED;
      next = SalesStage::kContacted;
      break;
    case SalesStage::kContacted:
      kind = roll < 40   ? v1::SALES_FACT_KIND_LEAD_CONTACTED
             : roll < 75 ? v1::SALES_FACT_KIND_OPPORTUNITY_CREATED
                         : v1::SALES_FACT_KIND_LEAD_DISQUALIFIED;
      next = roll < 40   ? SalesStage::kContacted
             : roll < 75 ? SalesStage::kOpportunity
                         : SalesStage::kDisqualified;
      break;
    case SalesStage::kOpportunity:
      kind = roll < 35   ? v1::SALES_FACT_KIND_LEAD_CONTACTED
             : roll < 65 ? v1::SALES_FACT_KIND_OPPORTUNITY_WON
                         : v1::SALES_FACT_KIND_OPPORTUNITY_LOST;
      next = roll < 35 ? SalesStage::kOpportunity : roll < 65 ? SalesStage::kWon : SalesStage::kLost;
      break;
    case SalesStage::kLost:
    case SalesStage::kRejected:
    case SalesStage::kDisqualified:  // recycled: back to sales under a new owner
      LEADLOG_CHECK(st.recycles() < kRecyclesMax) << "recycled too often";
      st.flags = static_cast<uint8_t>(st.flags + (1 << kRecycleShift));
      break;
    case SalesStage::kWon:
      LEADLOG_CHECK(false) << "a won lead has no sales step";
  }
  st.sales = next;
  EmitSalesFact(lead, kind, at_ms, e);
}

void Workload::Impl::EmitSalesFact(uint32_t lead, v1::SalesFactKind kind, int64_t at_ms, v1::Event* e) {
  const LeadState& st = leads_[lead];
  LEADLOG_CHECK(st.Has(kIdentified)) << "sales fact for anonymous lead " << lead;
  Begin(lead, v1::CALL_TYPE_TRACK, SalesFactName(kind), at_ms, /*browser=*/false, e);
  Struct* p = e->mutable_properties();
  v1::SalesFact* fact = e->mutable_sales();
  fact->set_kind(kind);
  fact->set_crm_record_id(CrmId("00Q", lead, id_key_));
  SetString(p, "crm_record_id", fact->crm_record_id());
  if (st.sales != SalesStage::kNone) {
    fact->set_owner_id(OwnerId(lead, st.recycles()));
    SetString(p, "owner_id", fact->owner_id());
  }
  switch (kind) {
    case v1::SALES_FACT_KIND_LEAD_REJECTED:
      fact->set_reason(std::string(Pick(kRejectReasons, rng_)));
      break;
    case v1::SALES_FACT_KIND_LEAD_DISQUALIFIED:
      fact->set_reason(std::string(Pick(kDisqualifyReasons, rng_)));
      break;
    case v1::SALES_FACT_KIND_OPPORTUNITY_LOST:
      fact->set_reason(std::string(Pick(kLostReasons, rng_)));
      SetOpportunity(lead, e);
      break;
    case v1::SALES_FACT_KIND_OPPORTUNITY_CREATED:
    case v1::SALES_FACT_KIND_OPPORTUNITY_WON:
      SetOpportunity(lead, e);
      break;
    case v1::SALES_FACT_KIND_LEAD_CONTACTED:
      fact->set_channel(std::string(Pick(kContactChannels, rng_)));
      SetString(p, "channel", fact->channel());
      break;
    case v1::SALES_FACT_KIND_RECORD_UPDATED:
      SetString(p, "changed_fields", Pick(kChangedFields, rng_));
      break;
    default:
      break;
  }
  if (!fact->reason().empty()) SetString(p, "reason", fact->reason());
}

// Opportunity id and amount are functions of (lead, recycles), so Won and
// Lost repeat what Created said. Amounts scale with the company's size.
void Workload::Impl::SetOpportunity(uint32_t lead, v1::Event* e) const {
  const uint64_t generation = uint64_t{lead} * (kRecyclesMax + 1) + leads_[lead].recycles();
  const int employees = CompanyOf(CompanyIndex(lead), company_key_).employees;
  const int64_t base = employees < 50     ? 6000
                       : employees < 200  ? 18000
                       : employees < 1000 ? 48000
                       : employees < 5000 ? 120000
                                          : 300000;
  const int64_t percent = 50 + static_cast<int64_t>(Mix64(generation ^ id_key_) % 101);
  const double amount = static_cast<double>(base * percent / 10000 * 100);
  v1::SalesFact* fact = e->mutable_sales();
  fact->set_opportunity_id(CrmId("006", generation, id_key_ >> 16));
  fact->set_amount(amount);
  fact->set_currency("USD");
  Struct* p = e->mutable_properties();
  SetString(p, "opportunity_id", fact->opportunity_id());
  SetNumber(p, "amount", amount);
  SetString(p, "currency", "USD");
}

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Workload>> Workload::Create(const WorkloadOptions& options) {
  auto bad = [](absl::string_view field, absl::string_view range, auto value) {
    return absl::InvalidArgumentError(
        absl::StrCat("WorkloadOptions.", field, ": must be in ", range, ", got ", value));
  };
  if (options.leads < 1 || options.leads > kWorkloadLeadsMax) {
    return bad("leads", absl::StrCat("[1, ", kWorkloadLeadsMax, "]"), options.leads);
  }
  if (options.events < 1) return bad("events", "[1, 2^64)", options.events);
  if (!(options.zipf_s > 0 && options.zipf_s <= kWorkloadZipfSMax)) {
    return bad("zipf_s", absl::StrCat("(0, ", kWorkloadZipfSMax, "]"), options.zipf_s);
  }
  if (options.start_time_ms < 0 || options.start_time_ms > kWorkloadStartTimeMsMax) {
    return bad("start_time_ms", absl::StrCat("[0, ", kWorkloadStartTimeMsMax, "]"), options.start_time_ms);
  }
  if (options.duration_ms < 1 || options.duration_ms > kWorkloadDurationMsMax) {
    return bad("duration_ms", absl::StrCat("[1, ", kWorkloadDurationMsMax, "]"), options.duration_ms);
  }
  return std::unique_ptr<Workload>(new Workload(std::make_unique<Impl>(options)));
}

Workload::Workload(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Workload::~Workload() = default;

bool Workload::Next(v1::Event* event) { return impl_->Next(event); }
uint64_t Workload::produced() const { return impl_->produced(); }
const WorkloadOptions& Workload::options() const { return impl_->options(); }

}  // namespace leadlog
