using Tally.Silo.Hosting;

// The content root is where the binaries (and appsettings.json) are, whatever directory the process starts in:
// started from the repository root, the settings (log levels among them) were never read.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddTallySilo();

var app = builder.Build();
app.MapTallySiloEndpoints();
// With Tally:Silo:ApiUrls set, the HTTP API runs in this process too (decision 024).
await SiloHostedApi.RunAsync(app, args);
