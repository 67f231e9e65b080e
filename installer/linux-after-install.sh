# RxGate: appended to electron-builder's own after-install script by scripts/package.ts
# (placeholders such as ${executable} are filled by electron-builder).
#
# The machine-wide settings live in /etc/rxgate/config.json (app/core/config.ts). Install with
#   sudo RXGATE_CONFIG=/path/to/config.json dpkg -i RxGate-0.1.0-linux-x64.deb
# to put the hospital's settings there; an existing file is replaced only when one is given.
mkdir -p /etc/rxgate
chmod 755 /etc/rxgate
if [ -n "${RXGATE_CONFIG:-}" ]; then
  if [ -f "$RXGATE_CONFIG" ]; then
    install -m 644 "$RXGATE_CONFIG" /etc/rxgate/config.json
    echo "RxGate: 配置文件已写入 /etc/rxgate/config.json"
  else
    echo "RxGate: 找不到 RXGATE_CONFIG 指定的配置文件: $RXGATE_CONFIG" >&2
    exit 2
  fi
fi

# Start in the tray at every user's login; a user's own ~/.config/autostart/rxgate.desktop
# with Hidden=true turns it off for them (the tray menu writes that).
if [ "${RXGATE_NO_AUTOSTART:-}" != "1" ]; then
  mkdir -p /etc/xdg/autostart
  cat > /etc/xdg/autostart/rxgate.desktop <<DESKTOP
[Desktop Entry]
Type=Application
Name=RxGate
Name[zh_CN]=RxGate 医保事前提醒
Comment=医保事前提醒助手
Exec='/opt/${sanitizedProductName}/${executable}' --hidden
Terminal=false
X-GNOME-Autostart-enabled=true
DESKTOP
  chmod 644 /etc/xdg/autostart/rxgate.desktop
fi
