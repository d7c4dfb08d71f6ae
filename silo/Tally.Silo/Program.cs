using Tally.Silo.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddTallySilo();

var app = builder.Build();
app.MapTallySiloEndpoints();
app.Run();
