using System.Globalization;
using System.Text.Json.Nodes;

namespace Tally.Cli.Profiles;

/// <summary>
/// Realistic synthetic events for a profile: each user's behaviour comes from a random generator seeded by the
/// profile and the user's number, and each event's idempotency key names its user, day and position, so the same
/// command line makes the same events (a rerun within the dedup window adds nothing). Day 0 is today, back to
/// day <c>days - 1</c>; times fall before <paramref name="now"/>.
/// </summary>
internal static class DemoWorkload
{
    /// <summary>The learning profile's topics: question n belongs to topic n mod 5.</summary>
    private static readonly string[] Topics = ["anatomy", "cardiology", "neurology", "pharmacology", "physiology"];

    private static readonly string[] Countries = ["US", "US", "US", "DE", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "NL"];
    private static readonly (string Action, double Kg)[] ClimateActions =
        [("bike_commute", 2.6), ("public_transport", 1.8), ("plant_based_meal", 1.5), ("recycling", 0.4), ("led_bulb", 0.2), ("line_drying", 0.9)];
    private static readonly (string Type, double Weight)[] AppEvents = [("page_view", 0.6), ("click", 0.25), ("purchase", 0.1), ("signup", 0.05)];
    private static readonly string[] Pages = ["/", "/pricing", "/docs", "/blog", "/signup", "/cart", "/checkout"];

    public static string UserId(string profile, int n) => profile switch
    {
        "climate" => $"user_{n:D5}",
        "learning" => $"learner_{n:D5}",
        "loyalty" => $"creator_{n:D5}",
        _ => $"visitor_{n:D5}",
    };

    /// <summary>Every user's events, user by user (users 1..<paramref name="users"/>): for events_log, raw events as a
    /// tracking script sends them to POST /v1/collect (<see cref="RawEvents"/>); for the others, events of POST /v1/events.</summary>
    public static IEnumerable<JsonObject> Events(string profile, int users, int days, DateTimeOffset now)
    {
        for (var n = 1; n <= users; n++)
        {
            var rng = new Random(HashCode(profile) * 7919 + n); // seeded Random is the same sequence on every run
            var user = UserId(profile, n);
            var events = profile == "events_log" ? RawEvents(user, rng, days, now) : ForUser(profile, user, rng, days, now);
            foreach (var e in events) yield return e;
        }
    }

    /// <summary>The events_log profile's sites: one agency tenant collects for all three.</summary>
    public static readonly string[] Sites = ["shop.example", "blog.example", "docs.example"];

    private static readonly Dictionary<string, string[]> SitePages = new()
    {
        ["shop.example"] = ["/", "/products/espresso-grinder", "/products/kettle", "/cart", "/checkout", "/account"],
        ["blog.example"] = ["/", "/2026/11/brewing-ratios", "/2026/10/water-chemistry", "/about"],
        ["docs.example"] = ["/", "/getting-started", "/api/events", "/api/collect", "/faq"],
    };

    private static readonly string[] Referrers = ["https://www.google.com/", "https://news.ycombinator.com/", "https://t.co/x", "", "", ""];
    private static readonly string[] ClickTargets = ["a.nav", "button#buy", "button#add-to-cart", "a.read-more", "input#search"];

    /// <summary>
    /// A visitor's raw events: on active days, one to three sessions on one of the agency's sites, each a walk of page
    /// views with clicks and scroll depths between them. Ids are UUIDs made from the event's place (profile, visitor,
    /// day, position), so a rerun sends the same ids and Tally counts nothing twice.
    /// </summary>
    private static IEnumerable<JsonObject> RawEvents(string visitor, Random rng, int days, DateTimeOffset now)
    {
        var home = Sites[rng.Next(Sites.Length)];
        for (var d = days - 1; d >= 0; d--)
        {
            if (rng.NextDouble() >= 0.5) continue;
            var sessions = rng.Next(1, 4);
            for (var k = 0; k < sessions; k++)
            {
                var site = rng.NextDouble() < 0.8 ? home : Sites[rng.Next(Sites.Length)];
                var pages = SitePages[site];
                var session = StableUuid($"session-{visitor}-d{d}-{k}");
                var at = now.AddDays(-d).AddMinutes(-rng.Next(30, 1440));
                var views = rng.Next(1, 6);
                var position = 0;
                for (var v = 0; v < views; v++)
                {
                    var path = pages[rng.Next(pages.Length)];
                    at = at.AddSeconds(rng.Next(5, 120));
                    yield return Raw("page_view", new JsonObject
                    {
                        ["title"] = path == "/" ? site : path.Split('/')[^1].Replace('-', ' '),
                        ["referrer"] = v == 0 ? Referrers[rng.Next(Referrers.Length)] : $"https://{site}{pages[rng.Next(pages.Length)]}",
                        ["viewport"] = rng.Next(3) == 0 ? "390x844" : "1440x900",
                    });
                    if (rng.NextDouble() < 0.6)
                    {
                        at = at.AddSeconds(rng.Next(2, 60));
                        yield return Raw("scroll", new JsonObject { ["depth"] = Math.Round(0.25 * rng.Next(1, 5), 2) });
                    }
                    if (rng.NextDouble() < 0.4)
                    {
                        at = at.AddSeconds(rng.Next(1, 30));
                        yield return Raw("click", new JsonObject { ["target"] = ClickTargets[rng.Next(ClickTargets.Length)], ["x"] = rng.Next(0, 1440), ["y"] = rng.Next(0, 900) });
                    }

                    JsonObject Raw(string type, JsonObject data) => new()
                    {
                        ["event_id"] = StableUuid($"demo-events_log-{visitor}-d{d}-{k}-{position++}"),
                        ["event_type"] = type,
                        ["timestamp"] = at.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
                        ["site_id"] = site,
                        ["session_id"] = session,
                        ["visitor_id"] = visitor,
                        ["url"] = $"https://{site}{path}",
                        ["data"] = data,
                    };
                }
            }
        }
    }

    /// <summary>A UUID made from a name (SHA-256, version 8 bits set): the same name, the same id.</summary>
    private static string StableUuid(string name)
    {
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true).ToString();
    }

    private static IEnumerable<JsonObject> ForUser(string profile, string user, Random rng, int days, DateTimeOffset now)
    {
        var activity = 0.2 + 0.6 * rng.NextDouble();
        var country = Countries[rng.Next(Countries.Length)];
        var org = $"org_{rng.Next(1, 21):D2}";
        var skill = 0.45 + 0.5 * rng.NextDouble();
        var scale = new[] { 0.5, 1, 1, 2, 5, 12 }[rng.Next(6)];
        for (var d = days - 1; d >= 0; d--)
        {
            if (rng.NextDouble() >= activity) continue;
            var count = profile switch { "learning" => rng.Next(3, 11), "analytics" => rng.Next(1, 7), "loyalty" => rng.Next(1, 3), _ => rng.Next(1, 4) };
            // Spread over the day before now, in order: minutes back from now - d days.
            var minutes = Enumerable.Range(0, count).Select(_ => rng.Next(1, 1440)).OrderDescending().ToArray();
            for (var i = 0; i < count; i++)
            {
                var at = now.AddDays(-d).AddMinutes(-minutes[i]);
                var e = new JsonObject
                {
                    ["user_id"] = user,
                    ["occurred_at"] = at.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                    ["idempotency_key"] = $"demo-{profile}-{user}-d{d}-{i}",
                };
                switch (profile)
                {
                    case "climate":
                        var (action, kg) = ClimateActions[rng.Next(ClimateActions.Length)];
                        var quantity = rng.Next(1, 4);
                        e["action"] = action;
                        e["measures"] = new JsonObject { ["co2_saved_kg"] = Math.Round((decimal)(kg * quantity * (0.7 + 0.6 * rng.NextDouble())), 3) };
                        e["dims"] = new JsonObject { ["country"] = country, ["org"] = org };
                        e["payload"] = new JsonObject { ["quantity"] = quantity };
                        break;
                    case "learning":
                        var correct = rng.NextDouble() < skill ? 1 : 0;
                        e["action"] = "answer";
                        e["measures"] = new JsonObject { ["answered"] = 1, ["correct"] = correct };
                        var question = rng.Next(1, 51);
                        e["dims"] = new JsonObject { ["question"] = $"q{question}", ["topic"] = Topics[question % Topics.Length] };
                        break;
                    case "loyalty":
                        var units = rng.Next(1, 6);
                        e["action"] = "sale";
                        e["measures"] = new JsonObject { ["sales"] = Math.Round((decimal)(units * (10 + 40 * rng.NextDouble()) * scale), 2), ["units"] = units };
                        e["dims"] = new JsonObject { ["country"] = country };
                        break;
                    default: // analytics
                        var type = Pick(rng, AppEvents);
                        e["action"] = type;
                        e["measures"] = new JsonObject { ["events"] = 1 };
                        e["dims"] = new JsonObject { ["event_type"] = type };
                        e["payload"] = new JsonObject
                        {
                            ["path"] = Pages[rng.Next(Pages.Length)],
                            ["session"] = $"s{rng.Next(1_000_000):D6}",
                            ["user_agent"] = rng.Next(3) == 0 ? "Mozilla/5.0 (iPhone)" : "Mozilla/5.0 (X11; Linux x86_64)",
                        };
                        break;
                }
                yield return e;
            }
        }
    }

    private static string Pick(Random rng, (string Value, double Weight)[] choices)
    {
        var x = rng.NextDouble();
        foreach (var (value, weight) in choices)
            if ((x -= weight) < 0) return value;
        return choices[^1].Value;
    }

    // string.GetHashCode differs between processes; this one does not.
    private static int HashCode(string text)
    {
        var h = 17;
        foreach (var c in text) h = unchecked(h * 31 + c);
        return h & 0xFFFF;
    }
}
