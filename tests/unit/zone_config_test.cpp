// Zone definitions: round trip, defaults, and clear errors for bad files.
#include "zone/zone_config.hpp"

#include "base/names.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace vcon {

TEST(ZoneConfig, RoundTrip) {
  ZoneConfig config;
  config.name = "web";
  config.rootfs = "/srv/web";
  config.hostname = "web.example";
  config.net = NetMode::Host;
  config.init = {"/bin/sh", "-c", "echo hi"};
  config.ring_size = 65536;
  config.halt_signal = SIGRTMIN + 4;
  config.uuid = "3f2b8a9c-1d4e-4f60-9a7b-0c1d2e3f4a5b";
  auto parsed = parse_zone_config(serialize_zone_config(config), "zone.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->name, "web");
  EXPECT_EQ(parsed->rootfs, "/srv/web");
  EXPECT_EQ(parsed->hostname, "web.example");
  EXPECT_EQ(parsed->net, NetMode::Host);
  EXPECT_EQ(parsed->init, config.init);
  EXPECT_EQ(parsed->ring_size, 65536u);
  EXPECT_EQ(parsed->halt_signal, SIGRTMIN + 4);
  EXPECT_EQ(parsed->reboot_signal, 0);
  EXPECT_EQ(parsed->uuid, config.uuid);
}

TEST(ZoneConfig, UuidMustBeOne) {
  auto bad = parse_zone_config("name = \"a\"\nrootfs = \"/r\"\nuuid = \"not-a-uuid\"\n", "zone.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("'uuid' must be a UUID"), std::string::npos);
  EXPECT_TRUE(is_uuid("3f2b8a9c-1d4e-4f60-9a7b-0c1d2e3f4a5b"));
  EXPECT_FALSE(is_uuid("3F2B8A9C-1D4E-4F60-9A7B-0C1D2E3F4A5B"));
  EXPECT_FALSE(is_uuid("3f2b8a9c1d4e4f609a7b0c1d2e3f4a5b"));
}

TEST(ZoneConfig, Defaults) {
  auto parsed = parse_zone_config("name = \"a\"\nrootfs = \"/r\"\n", "zone.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->hostname, "a");
  EXPECT_EQ(parsed->net, NetMode::None);
  EXPECT_EQ(parsed->init, std::vector<std::string>{"/sbin/init"});
}

TEST(ZoneConfig, CorruptFileNamesFileAndLine) {
  auto parsed = parse_zone_config("name = \"a\"\nrootfs = [oops\n", "/x/zone.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("/x/zone.toml"), std::string::npos) << parsed.error().message();
  EXPECT_NE(parsed.error().message().find("line 2"), std::string::npos) << parsed.error().message();
}

TEST(ZoneConfig, RejectsBadValues) {
  for (const std::string& text : std::vector<std::string>{"rootfs = \"/r\"\n", "name = \"a\"\nrootfs = \"relative\"\n",
                           "name = \"A B\"\nrootfs = \"/r\"\n", "name = \"a\"\nrootfs = \"/r\"\nnet = \"bridge\"\n",
                           "name = \"a\"\nrootfs = \"/r\"\ninit = \"/sbin/init\"\n",
                           "name = \"a\"\nrootfs = \"/r\"\ninit = [\"sbin/init\"]\n",
                           "name = \"a\"\nrootfs = \"/r\"\nring_size = 10\n",
                           "name = \"a\"\nrootfs = \"/r\"\nhalt_signal = \"SIGNOPE\"\n",
                           "name = \"a\"\nrootfs = \"/r\"\nhostname = \"a_b\"\n",
                           "name = \"a\"\nrootfs = \"/r\"\nhostname = \"" + std::string(65, 'x') + "\"\n"}) {
    EXPECT_FALSE(parse_zone_config(text, "zone.toml").ok()) << text;
  }
}

TEST(ZoneConfig, AnUnknownKeyIsAnErrorNamingIt) {
  auto parsed = parse_zone_config("name = \"a\"\nrootfs = \"/r\"\nhalt_signl = \"SIGRTMIN+3\"\n", "/x/zone.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("line 3: unknown key 'halt_signl'"), std::string::npos)
      << parsed.error().message();
}

TEST(Names, Hostnames) {
  for (const char* ok : {"web", "web-1.example", "A1", "a.b.c"}) EXPECT_TRUE(validate_hostname(ok).ok()) << ok;
  for (std::string bad : {std::string(""), std::string("-a"), std::string("a-"), std::string("a..b"),
                          std::string("a_b"), std::string(65, 'x')}) {
    EXPECT_FALSE(validate_hostname(bad).ok()) << bad;
  }
}

TEST(Signals, ParseNamesAndNumbers) {
  EXPECT_EQ(parse_signal("SIGUSR2").value(), SIGUSR2);
  EXPECT_EQ(parse_signal("TERM").value(), SIGTERM);
  EXPECT_EQ(parse_signal("9").value(), 9);
  EXPECT_EQ(parse_signal("SIGRTMIN+4").value(), SIGRTMIN + 4);
  EXPECT_FALSE(parse_signal("SIGFOO").ok());
  EXPECT_FALSE(parse_signal("0").ok());
  EXPECT_EQ(signal_name(SIGUSR2), "SIGUSR2");
  EXPECT_EQ(signal_name(SIGRTMIN + 4), "SIGRTMIN+4");
}

}  // namespace vcon
