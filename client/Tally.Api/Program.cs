using Tally.Api.Hosting;

// The content root is where the binaries (and appsettings.json) are, whatever directory the process starts in:
// started from the repository root, the settings (log levels among them) were never read.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddTallyApi();

var app = builder.Build();
app.MapTallyApi();
app.Run();

/// <summary>Entry point; public so tests can host the API in-process.</summary>
public partial class Program;
