using System.Net;
using System.Text.Json.Nodes;
using OpenQA.Selenium;
using OpenQA.Selenium.Support.UI;
using Shouldly;
using Tally.Cli.Profiles;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>
/// The web console (/console) in a real headless Chromium (Debian's chromium and chromium-driver) against the test API:
/// sign in, a board and a user found on it, a user's tier timeline, a config change refused at its field and one
/// saved, a key created (its secret shown once) and revoked. Each page's screenshot goes to docs/console/ when
/// TALLY_WRITE_DOCS=1 (docs/console.md shows them), else to a temporary folder.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ConsoleBrowserTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static string ScreenshotDirectory()
    {
        return Environment.GetEnvironmentVariable("TALLY_WRITE_DOCS") == "1"
            ? Directory.CreateDirectory(Path.Combine(Repository.Root, "docs", "console")).FullName
            : Directory.CreateTempSubdirectory("tally-console-").FullName;
    }

    private static JsonObject Sale(string user, string at, decimal sales, int units) => new()
    {
        ["user_id"] = user, ["action"] = "sale", ["occurred_at"] = at, ["idempotency_key"] = $"{user}-{at}",
        ["measures"] = new JsonObject { ["sales"] = sales, ["units"] = units }, ["dims"] = new JsonObject { ["country"] = "US" },
    };

    [Fact]
    public async Task sign_in_find_a_user_on_a_board_see_the_tier_timeline_edit_config_and_manage_keys()
    {
        var t = await Fixture.CreateTenantAsync(SeedProfiles.Get("loyalty").Config());
        var (status, _) = await Post(t.IngestKey, Batch(
            Sale("creator_b", "2025-05-01T09:00:00Z", 5000, 20), Sale("creator_b", "2025-06-01T09:00:00Z", 5600, 25),
            Sale("creator_a", "2025-11-20T10:00:00Z", 1200, 6), Sale("creator_c", "2025-11-21T10:00:00Z", 300, 2),
            Sale("creator_d", "2025-11-21T11:00:00Z", 800, 3), Sale("creator_b", "2025-11-21T12:00:00Z", 2500, 9)));
        status.ShouldBe(200);
        await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/leaderboards/sales?scope=global&period=all_time"), r => (long?)r.Body?["members"] == 4,
            TimeSpan.FromSeconds(10), "four creators on the board");
        var shots = ScreenshotDirectory();
        var baseUrl = Fixture.Http.BaseAddress!.ToString().TrimEnd('/');

        using var browser = HeadlessChromium.Start();
        var wait = new WebDriverWait(browser, TimeSpan.FromSeconds(15));
        // The page replaces its content as it renders: an element found a moment ago may be gone; look again.
        wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException), typeof(NoSuchElementException));
        IWebElement Find(string css)
        {
            try
            {
                return wait.Until(d => d.FindElements(By.CssSelector(css)).FirstOrDefault(e => e.Displayed))!;
            }
            catch (WebDriverTimeoutException)
            {
                throw new ShouldAssertException($"{css} is not on the page after 15 s; the page says: {browser.FindElement(By.TagName("main")).Text}");
            }
        }
        void Shot(string name) => ((ITakesScreenshot)browser).GetScreenshot().SaveAsFile(Path.Combine(shots, name + ".png"));

        // Sign in: a wrong key is refused on the page; the tenant's admin key opens the overview.
        browser.Navigate().GoToUrl(baseUrl + "/console");
        Find("#key").SendKeys("tly_admin_not-a-key");
        Find("#sign-in button").Click();
        Find("#sign-in-error").Text.ShouldContain("not accepted");
        Shot("sign-in");
        Find("#key").SendKeys(t.AdminKey);
        Find("#sign-in button").Click();
        wait.Until(d => d.FindElement(By.TagName("h1")).Text.StartsWith("Overview — " + t.Id));
        Find("#who").Text.ShouldContain("admin");
        browser.ExecuteScript("return document.cookie").ShouldBe("", "the key is never in a cookie");
        Find("svg[aria-label='events accepted per day'] rect"); // the month's events per day, as a chart
        Shot("overview");

        // A board, and a user found on it: the rows around them, the user highlighted.
        browser.Navigate().GoToUrl(baseUrl + "/console#/boards?measure=sales&scope=global&period=all_time&find=creator_a");
        wait.Until(d => d.FindElements(By.CssSelector("#around tr.me")).Count == 1);
        Find("#around tr.me").Text.ShouldContain("creator_a");
        browser.FindElement(By.TagName("main")).Text.ShouldContain("4 members");
        Shot("leaderboard");

        // The user: totals, goals, and the tier timeline as a picture.
        browser.FindElements(By.CssSelector("main table a")).First(a => a.Text == "creator_b").Click();
        var timeline = Find("#tier-timeline");
        browser.ExecuteScript("arguments[0].scrollIntoView({block: 'center'})", timeline);
        timeline.FindElements(By.TagName("rect")).Count.ShouldBeGreaterThanOrEqualTo(2, "a segment per tier held");
        browser.FindElement(By.TagName("main")).Text.ShouldContain("promoted");
        Shot("user");

        // Config: a bad value is refused at its field, a good one is saved with a new version.
        browser.Navigate().GoToUrl(baseUrl + "/console#/config");
        var keep = Find("input[data-path='changes.keep_days']");
        keep.Clear();
        keep.SendKeys("500");
        Find("#config-save").Click();
        var invalid = Find(".field.invalid[data-field='changes.keep_days'] .field-error");
        invalid.Text.ShouldNotBeNullOrWhiteSpace();
        Find("#config-status").Text.ShouldStartWith("400");
        browser.ExecuteScript("arguments[0].scrollIntoView({block: 'center'})", invalid);
        Shot("config-error");
        (await Get(t.AdminKey, $"/v1/tenants/{t.Id}")).Body!["config"]!["changes"]!["keep_days"]!.GetValue<int>().ShouldBe(7, "nothing changed");
        keep = Find("input[data-path='changes.keep_days']");
        keep.Clear();
        keep.SendKeys("14");
        Find("#config-save").Click();
        wait.Until(d => d.FindElement(By.Id("config-status")).Text.StartsWith("Saved") || d.FindElements(By.CssSelector(".field.invalid")).Count > 0);
        Find("#config-status").Text.ShouldStartWith("Saved: version 2");
        (await Get(t.AdminKey, $"/v1/tenants/{t.Id}")).Body!["config"]!["changes"]!["keep_days"]!.GetValue<int>().ShouldBe(14);

        // Keys: a new read key's secret is shown once and works; revoked, it stops.
        browser.Navigate().GoToUrl(baseUrl + "/console#/keys");
        Find("#key-role option[value='read']").Click();
        Find("#key-create").Click();
        var secret = Find("#new-key-secret").Text;
        secret.ShouldStartWith("tly_read_");
        (await Get(secret, "/v1/usage")).Status.ShouldBe(200);
        Shot("keys");
        var keyId = System.Text.RegularExpressions.Regex.Match(Find("#key-created p").Text, @"New read key (\S+):").Groups[1].Value;
        keyId.ShouldNotBeEmpty();
        Find($"button[data-key='{keyId}']").Click();
        wait.Until(d => !d.FindElements(By.CssSelector($"button[data-key='{keyId}']")).Any());
        await Eventually.WaitFor(() => Get(secret, "/v1/usage"), r => r.Status == (int)HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(30), "the revoked key refused");

        // The change feed's live tail shows the tier changes.
        browser.Navigate().GoToUrl(baseUrl + "/console#/webhooks");
        Find("#tail-toggle").Click();
        wait.Until(d => d.FindElements(By.CssSelector("#changes tbody tr")).Count >= 3);
        Shot("changes");
        Find("#tail-toggle").Click();
    }
}
