#!/bin/sh
# <xbar.title>quotaline</xbar.title>
# <xbar.desc>Claude plan usage (server truth): every window, extra usage, plan, age, last error.</xbar.desc>
# <xbar.dependencies>quotaline</xbar.dependencies>
#
# quotaline for the menu bar: one plugin for xbar and SwiftBar (macOS) and Argos (GNOME Shell).
# Save it under this name (the "1m" is the refresh interval) in the plugin folder, e.g.
#   xbar:   ~/Library/Application Support/xbar/plugins/quotaline.1m.sh
#   Argos:  ~/.config/argos/quotaline.1m.sh
# and make it executable: chmod +x quotaline.1m.sh
#
# Menu-bar apps start plugins with a bare PATH: add where cargo and Homebrew install.
PATH="$HOME/.cargo/bin:/opt/homebrew/bin:/usr/local/bin:$PATH"
export PATH
exec quotaline segment --target xbar
