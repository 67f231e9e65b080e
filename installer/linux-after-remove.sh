# RxGate: appended to electron-builder's own after-remove script by scripts/package.ts.
# An upgrade removes the old version too: keep everything then. `apt purge` removes the
# machine-wide settings as well; a plain remove keeps them for a reinstall.
case "$1" in
  remove|purge)
    rm -f /etc/xdg/autostart/rxgate.desktop
    ;;
esac
if [ "$1" = "purge" ]; then
  rm -rf /etc/rxgate
fi
