// What nearly every test file uses (the test kit, JSON, HTTP); a file adds only its own.
global using System.Net;
global using System.Net.Http.Json;
global using System.Text.Json;
global using Hive.Testing;
global using Hive.Tests.Infrastructure;
global using Xunit;
