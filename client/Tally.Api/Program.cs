using Tally.Api.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddTallyApi();

var app = builder.Build();
app.MapTallyApi();
app.Run();

/// <summary>Entry point; public so tests can host the API in-process.</summary>
public partial class Program;
