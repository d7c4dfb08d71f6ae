using OpenQA.Selenium.Chrome;

namespace Tally.Api.Tests;

/// <summary>A headless Chromium driven by Selenium, from Debian's chromium and chromium-driver (installed by
/// deploy/local/test): nothing is downloaded at run time.</summary>
internal static class HeadlessChromium
{
    public static ChromeDriver Start(string windowSize = "1280,1000")
    {
        var service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = "/usr/bin/chromium" };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", $"--window-size={windowSize}");
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }
}

/// <summary>Paths in the repository the tests run from (found by walking up to Orleans.sln).</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Orleans.sln"))) return dir.FullName;
        throw new InvalidOperationException("the repository root (Orleans.sln) is not above " + AppContext.BaseDirectory);
    }
}
